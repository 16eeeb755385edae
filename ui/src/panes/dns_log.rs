//! The DNS tab's query log: every exchange the passive capture sees, newest first,
//! filterable, with the cursor staying on its query while newer ones arrive.

use netlens_collectors::Store;
use netlens_collectors::model::{DnsQuery, SourceId, SourceState};
use netlens_collectors::store::{SLOW_QUERY_MS, is_error_rcode};
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::Style;

use crate::context::{Keys, Paint};
use crate::filter::{Field, Filter, contains};
use crate::format::{Clock, Count, Millis, StackText};
use crate::state::DnsState;
use crate::theme::Theme;
use crate::widgets::banner::source_banner;
use crate::widgets::marks::{note, position};
use crate::widgets::pane::pane;
use crate::widgets::table::{Column, Layout, Measure, Row, header, scroll};
use crate::widgets::text::{Scratch, put, width};

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
    Column::left("PROCESS", 15, 24, 2, 2),
    Column::left("NAME", 18, 80, 0, 0),
    Column::left("TYPE", 5, 5, 3, 9),
    Column::left("SERVER", 15, 47, 4, 1),
    Column::left("RCODE", 8, 8, 0, 9),
    Column::right("LATENCY", 7, 0),
];

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
    if state.table.filter.is_empty() {
        queries.len()
    } else {
        queries.filter(|query| matches(&state.table.filter, query)).count()
    }
}

/// Queries the filter lets through that arrived after the cursor was placed.
pub(crate) fn arrived_since_anchor(store: &Store, state: &DnsState) -> usize {
    let dns = store.dns();
    let new = dns.logged().saturating_sub(state.anchor);
    let new = usize::try_from(new).unwrap_or(usize::MAX).min(dns.queries().len());
    if state.table.filter.is_empty() {
        new
    } else {
        dns.queries().rev().take(new).filter(|query| matches(&state.table.filter, query)).count()
    }
}

/// `←→` when the focus keys are the arrows, else the first key bound.
fn focus_keys(keys: Keys<'_>) -> String {
    let keys: Vec<&str> = keys
        .all()
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
    if !state.table.filter.is_empty() {
        return format!("no query matches \"{}\" · esc clears the filter", state.table.filter.text());
    }
    match store.source(SourceId::DnsCapture) {
        None => "waiting for the DNS capture…".to_owned(),
        Some(status) if status.status == SourceState::Ok => "no DNS query seen yet".to_owned(),
        Some(status) => format!("no queries: dns capture {}", status.status.as_str()),
    }
}

/// Draw the log in `area`, recording the rows it shows.
pub(crate) fn query_log(buf: &mut Buffer, area: Rect, state: &mut DnsState, ctx: &Paint<'_>, focused: bool) {
    let Paint { store, theme, keys, .. } = *ctx;
    if area.is_empty() {
        return;
    }
    let dns = store.dns();
    let counters = dns.counters();
    let total = filtered_len(store, state);
    let logged = format!(" {} logged", Count(dns.logged()));
    let shown = format!("  {total} of {}", dns.queries().len());
    let malformed = format!(" · {} malformed", Count(counters.malformed));
    let unmatched = format!(" · {} unmatched", Count(counters.unmatched));
    let drops = kernel_drops(store).unwrap_or_default();
    let counter_style = |n: u64| if n > 0 { theme.warn() } else { theme.muted() };
    let mut title = vec![("Query log", theme.title())];
    if state.table.filter.is_empty() {
        title.extend([
            (logged.as_str(), theme.muted()),
            (malformed.as_str(), counter_style(counters.malformed)),
            (unmatched.as_str(), counter_style(counters.unmatched)),
            (drops.as_str(), theme.warn()),
        ]);
    } else {
        title.extend([
            ("  filter ", theme.muted()),
            (state.table.filter.text(), theme.accent()),
            (shown.as_str(), theme.muted()),
        ]);
    }
    let keys = format!("{} trace  {} focus", keys.of("trace").unwrap_or("t"), focus_keys(keys));
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
    let (x, width) = (inner.x + 1, inner.width.saturating_sub(1));
    if total == 0 {
        if body.y > inner.y {
            header(buf, body.y - 1, &LOG_COLUMNS, &Layout::new(&LOG_COLUMNS, x, width), theme, None);
        }
        note(buf, body, &empty_note(store, state), theme.muted());
        return;
    }
    let visible = usize::from(body.height);
    let cursor = state.table.cursor.min(total - 1);
    let offset = scroll(state.table.offset, cursor, visible, total);
    state.table.record(offset, visible);
    let mut scratch = Scratch::default();
    // An empty filter lets every query through at the cost of a call.
    let rows: Vec<&DnsQuery> = dns
        .queries()
        .rev()
        .filter(|query| matches(&state.table.filter, query))
        .skip(offset)
        .take(visible)
        .collect();
    let mut measure = Measure::of(&[PROCESS, NAME, SERVER]);
    for query in &rows {
        measure_query(&mut measure, query, &mut scratch);
    }
    let layout = Layout::fit(&LOG_COLUMNS, &measure, x, width);
    if body.y > inner.y {
        header(buf, body.y - 1, &LOG_COLUMNS, &layout, theme, None);
    }
    for (i, (query, y)) in rows.into_iter().zip(body.top()..body.bottom()).enumerate() {
        let selection = (focused && offset + i == cursor).then(|| theme.selection());
        let mut row = Row::new(buf, body, y, &layout, &LOG_COLUMNS, selection, &mut scratch);
        draw_query(&mut row, query, theme);
    }
    position(buf, area, cursor, total, theme.muted());
}

/// ` · N dropped by the kernel` when the capture's rings overflowed (their packets,
/// DNS included, were never seen), for the titles of the panes capture feeds.
pub(crate) fn kernel_drops(store: &Store) -> Option<String> {
    store
        .capture()
        .filter(|capture| capture.dropped > 0)
        .map(|capture| format!(" · {} dropped by the kernel", Count(capture.dropped)))
}

/// The widths of a query's text cells, as [`draw_query`] writes them.
fn measure_query(measure: &mut Measure, query: &DnsQuery, scratch: &mut Scratch) {
    let process = match (&query.process, query.pid) {
        (Some(name), Some(pid)) => width(name) + 1 + scratch.format(pid).len(),
        (Some(name), None) => width(name),
        (None, Some(pid)) => 4 + scratch.format(pid).len(),
        (None, None) => 1,
    };
    measure.cell(PROCESS, process);
    measure.text(NAME, &query.name);
    let server = if query.server.port() == 53 {
        scratch.format(query.server.ip()).len()
    } else {
        scratch.format(query.server).len()
    };
    measure.cell(SERVER, server);
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

#[cfg(test)]
mod tests {
    use netlens_collectors::fake;

    use super::*;
    use crate::filter::DNS_FIELDS;

    #[test]
    fn kernel_drops_are_said_only_when_there_are_some() {
        use netlens_collectors::Payload;
        use netlens_collectors::model::{CaptureTotals, SourceId};
        let mut store = fake::store();
        assert_eq!(kernel_drops(&store), None, "no capture runs");
        let totals = |dropped| CaptureTotals { packets: 5000, dropped, interfaces: Vec::new() };
        store.apply(fake::event(fake::NOW, SourceId::Capture, Payload::Capture(totals(0))));
        assert_eq!(kernel_drops(&store), None, "nothing dropped");
        store.apply(fake::event(fake::NOW, SourceId::Capture, Payload::Capture(totals(1234))));
        assert_eq!(kernel_drops(&store).as_deref(), Some(" · 1 234 dropped by the kernel"));
    }

    #[test]
    fn filter_terms_pick_rows() {
        let store = fake::store();
        let count = |text: &str| {
            let state = {
                let mut state = DnsState::default();
                state.table.filter = Filter::parse(text, DNS_FIELDS);
                state
            };
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
}
