//! The DNS tab's trace view: the newest trace the user asked for (`t`), as a tree of
//! the candidates the search list made, the servers each was asked and every query
//! with its outcome and latency; then the answer beside the system's own, and where
//! they differ. "tracing NAME…" until the trace asked for arrives.
//!
//! ```text
//! db  (search corp.test lab.test, ndots 1)  → 10.0.0.5 2001:db8::5  2.00s
//! ├─ db.corp.test
//! │  ├─ 10.0.0.53:53
//! │  │  ├─ A     udp  timeout    2.00s
//! │  │  └─ AAAA  udp  timeout    2.00s
//! │  └─ 10.0.1.53:53
//! │     ├─ A     udp  NXDOMAIN  1.20ms
//! │     └─ AAAA  udp  NXDOMAIN  1.10ms
//! └─ db.lab.test  ✓
//!    └─ 10.0.1.53:53
//!       ├─ A     udp  NOERROR   1.00ms  db.lab.test → db-1.lab.test → 10.0.0.5 (ttl 300)
//!       └─ AAAA  udp  NOERROR    900µs  TC → tcp
//! answer  10.0.0.5 2001:db8::5
//! system  10.0.0.5 · getaddrinfo 800µs
//! ⚠ system answer lacks AAAA 2001:db8::5: AI_ADDRCONFIG dropped IPv6 (…)
//! ```
//!
//! Where the view is wide enough, each query's row also carries its bar of the
//! waterfall (between latency and answer) on a linear time axis the first line labels:
//!
//! ```text
//! db  (…)  → 10.0.0.5  2.00s  · bars: linear 0 → 2.00s, ≥ 1 cell
//! │  │  ├─ A     udp  timeout   2.00s ░░░░░░░░░░░░░░░░░░░░░░░░░░░
//! │     ├─ A     udp  NXDOMAIN 1.20ms                            █
//! ```

use std::net::SocketAddr;

use netlens_collectors::Store;
use netlens_collectors::model::{DnsTrace, DnsTransport, TraceOrigin, TraceStep};
use netlens_collectors::store::{SLOW_QUERY_MS, is_error_rcode};
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::Style;

use crate::context::{Keys, Paint};
use crate::format::{Ago, Millis};
use crate::state::DnsState;
use crate::theme::Theme;
use crate::widgets::marks::scroll_marks;
use crate::widgets::pane::pane;
use crate::widgets::text::Doc;
use crate::widgets::waterfall::{Bar, bar_text, bars};

/// Label column of the answer lines.
const LABEL: usize = 8;

/// Fewest cells of time axis worth drawing.
const MIN_AXIS: usize = 10;

/// Most cells of time axis: beyond it the answers need the room more.
const MAX_AXIS: usize = 40;

/// Cells a step row takes before its bar: the tree, type, transport, outcome and
/// latency (25), a gap.
const STEP_COLUMNS: usize = TREE + 26;

/// The tree's indent of a step row.
const TREE: usize = 9;

/// Whether two spellings name the same host (case and a trailing dot do not count).
fn same_name(a: &str, b: &str) -> bool {
    a.trim_end_matches('.').eq_ignore_ascii_case(b.trim_end_matches('.'))
}

/// The name of the trace asked for, while the store does not hold it yet: a user
/// trace of that name that started after it was asked.
pub(crate) fn pending<'a>(state: &'a DnsState, store: &Store) -> Option<&'a str> {
    let asked = state.pending.as_ref()?;
    let arrived = store.dns().traces().rev().any(|trace| {
        trace.origin == TraceOrigin::User
            && same_name(&trace.name, &asked.name)
            && trace.started_at >= asked.since
    });
    (!arrived).then_some(asked.name.as_str())
}

/// The trace the view shows, unless one asked for is still on its way.
fn shown<'s>(store: &'s Store, state: &DnsState) -> Option<&'s DnsTrace> {
    if pending(state, store).is_some() {
        return None;
    }
    store.dns().last_user_trace()
}

/// One candidate of the tree and the servers it was asked of.
struct Candidate<'t> {
    name: &'t str,
    servers: Vec<Server<'t>>,
}

/// One server asked about a candidate, and every query it got.
struct Server<'t> {
    address: SocketAddr,
    steps: Vec<&'t TraceStep>,
}

/// The steps grouped as the tree shows them: by candidate, then by server, each in the
/// order first asked.
fn tree(trace: &DnsTrace) -> Vec<Candidate<'_>> {
    let mut candidates: Vec<Candidate<'_>> = Vec::new();
    for step in &trace.steps {
        let found = candidates.iter().position(|candidate| candidate.name == step.candidate);
        let at = found.unwrap_or_else(|| {
            candidates.push(Candidate { name: step.candidate.as_str(), servers: Vec::new() });
            candidates.len() - 1
        });
        let servers = &mut candidates[at].servers;
        match servers.iter_mut().find(|server| server.address == step.server) {
            Some(server) => server.steps.push(step),
            None => servers.push(Server { address: step.server, steps: vec![step] }),
        }
    }
    candidates
}

/// `├─ ` or `└─ `, and what continues below it: `│  ` or blank.
const fn branch(last: bool) -> (&'static str, &'static str) {
    if last { ("└─ ", "   ") } else { ("├─ ", "│  ") }
}

/// The outcome column of a step: its response code, `NODATA` for an empty NOERROR,
/// `timeout` (or `failed`) when no answer came; and its colour.
fn outcome(step: &TraceStep, theme: &Theme) -> (&'static str, Style) {
    match step.rcode.as_deref() {
        None if step.error.as_deref().is_none_or(|e| e.starts_with("timeout")) => ("timeout", theme.error()),
        None => ("failed", theme.error()),
        Some("NOERROR") if step.nodata => ("NODATA", theme.info()),
        Some("NOERROR") => ("NOERROR", theme.ok()),
        Some("NXDOMAIN") => ("NXDOMAIN", theme.info()),
        Some(code) if is_error_rcode(code) => (static_code(code), theme.error()),
        Some(code) => (static_code(code), theme.text()),
    }
}

/// The codes a server may send, as static text (anything else reads as `other`).
fn static_code(code: &str) -> &'static str {
    const CODES: [&str; 10] = [
        "NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN", "NOTIMP", "REFUSED", "YXDOMAIN", "YXRRSET", "NXRRSET",
        "NOTAUTH",
    ];
    CODES.into_iter().find(|known| *known == code).unwrap_or("other")
}

/// One query: type, transport, outcome, latency (aligned columns), then what came
/// back — the CNAME chain and the records of the asked type with their TTL, `TC → tcp`
/// for a truncated answer, the error, the attempt after the first round.
fn step_spans(step: &TraceStep, theme: &Theme, bar: Option<(Bar, usize)>) -> Vec<(String, Style)> {
    let (code, code_style) = outcome(step, theme);
    let transport = match step.transport {
        DnsTransport::Udp => theme.muted(),
        DnsTransport::Tcp => theme.info(),
    };
    let latency = Millis(Some(step.latency_ms)).to_string();
    let latency_style = if step.rcode.is_none() {
        theme.error()
    } else if step.latency_ms > SLOW_QUERY_MS {
        theme.warn()
    } else {
        theme.muted()
    };
    let mut spans = vec![
        (format!("{:<5} ", step.qtype), theme.text()),
        (format!("{:<4} ", step.transport.as_str()), transport),
        (format!("{code:<8} "), code_style),
        (format!("{latency:>6}"), latency_style),
    ];
    if let Some((bar, cells)) = bar {
        let (lead, fill) = bar_text(bar, step.rcode.is_some());
        let tail = " ".repeat(cells.saturating_sub(bar.offset + bar.length));
        let style = if step.rcode.is_some() { theme.accent() } else { code_style };
        spans.extend([(format!(" {lead}"), theme.muted()), (fill, style), (tail, theme.muted())]);
    }
    let mut details: Vec<(String, Style)> = Vec::new();
    if step.truncated {
        details.push(("TC → tcp".to_owned(), theme.warn()));
    }
    let records: Vec<&str> = step
        .answers
        .iter()
        .filter(|answer| answer.rtype.eq_ignore_ascii_case(&step.qtype))
        .map(|answer| answer.data.as_str())
        .collect();
    if step.cname_chain.len() > 1 {
        details.push((step.cname_chain.join(" → "), theme.info()));
        if !records.is_empty() {
            details.push((" → ".to_owned(), theme.info()));
        }
    }
    if !records.is_empty() {
        details.push((records.join(" "), theme.text()));
        let ttl =
            step.answers.iter().filter(|a| a.rtype.eq_ignore_ascii_case(&step.qtype)).map(|a| a.ttl).min();
        if let Some(ttl) = ttl {
            details.push((format!(" (ttl {ttl})"), theme.muted()));
        }
    }
    // A timeout's "timeout after 2000 ms" only repeats the outcome and the latency;
    // anything more it says is shown.
    if let Some(error) = step.error.as_deref().filter(|e| step.rcode.is_some() || !is_plain_timeout(e)) {
        if !details.is_empty() {
            details.push(("  ".to_owned(), theme.muted()));
        }
        details.push((error.to_owned(), theme.error()));
    }
    let gap = |details: &[(String, Style)]| if details.is_empty() { "" } else { " " };
    if step.attempt > 1 {
        details.push((format!("{}(try {})", gap(&details), step.attempt), theme.muted()));
    }
    if step.ignored > 0 {
        let s = if step.ignored == 1 { "y" } else { "ies" };
        details.push((format!("{}({} stray repl{s} ignored)", gap(&details), step.ignored), theme.warn()));
    }
    if !details.is_empty() {
        spans.push(("  ".to_owned(), theme.muted()));
        spans.extend(details);
    }
    spans
}

/// Cells the spans of a row take.
fn row_width(spans: &[(String, Style)]) -> usize {
    spans.iter().map(|(text, _)| crate::widgets::text::width(text)).sum()
}

/// Whether an error says no more than `timeout after N ms`.
fn is_plain_timeout(error: &str) -> bool {
    error
        .strip_prefix("timeout after ")
        .and_then(|rest| rest.strip_suffix(" ms"))
        .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
}

/// Addresses separated by spaces.
fn addresses(list: &[std::net::IpAddr]) -> String {
    list.iter().map(ToString::to_string).collect::<Vec<_>>().join(" ")
}

/// The first line: what was asked, under which search list, what came of it, how long.
fn heading(store: &Store, trace: &DnsTrace, theme: &Theme) -> Vec<(String, Style)> {
    let mut spans = vec![(trace.name.clone(), theme.accent())];
    if let Some(config) = store.dns().config() {
        let search =
            if config.search.is_empty() { "no search list".to_owned() } else { config.search.join(" ") };
        let search = if config.search.is_empty() { search } else { format!("search {search}") };
        spans.push((format!("  ({search}, ndots {})", config.ndots), theme.muted()));
    }
    spans.push(("  → ".to_owned(), theme.muted()));
    match (&trace.error, trace.result.as_slice()) {
        (Some(error), _) => spans.push((format!("✗ {error}"), theme.error())),
        (None, []) => spans.push(("no address".to_owned(), theme.warn())),
        (None, result) => spans.push((addresses(result), theme.ok())),
    }
    spans.push((format!("  {}", Millis(Some(trace.total_ms))), theme.muted()));
    spans
}

/// The view's lines: the trace as a tree with its answers, "tracing NAME…" while the
/// one asked for is on its way, or how to ask for one. (Without the waterfall's bars,
/// which need the width: the line count is the same with them.)
pub(crate) fn doc(store: &Store, state: &DnsState, keys: Keys<'_>, theme: &Theme) -> Doc {
    doc_for_width(store, state, keys, theme, 0)
}

/// Cells of the waterfall's time axis on a view `width` cells wide whose widest step
/// row (answers included) is `widest` cells: the room the answers leave, at most
/// [`MAX_AXIS`]; at least [`MIN_AXIS`] (the answers are cut then) while the fixed
/// columns leave that much; none on a narrower view.
fn axis_cells(width: u16, widest: usize) -> usize {
    let width = usize::from(width);
    if width < STEP_COLUMNS + MIN_AXIS {
        return 0;
    }
    width.saturating_sub(TREE + widest + 1).clamp(MIN_AXIS, MAX_AXIS)
}

/// [`doc`] with each query's waterfall bar between its latency and its answer, on a
/// linear time axis `width` allows (see [`crate::widgets::waterfall`]).
fn doc_for_width(store: &Store, state: &DnsState, keys: Keys<'_>, theme: &Theme, width: u16) -> Doc {
    let mut doc = Doc::default();
    if let Some(name) = pending(state, store) {
        doc.line([
            ("tracing ".to_owned(), theme.muted()),
            (name.to_owned(), theme.accent()),
            ("…".to_owned(), theme.muted()),
        ]);
        return doc;
    }
    let Some(trace) = shown(store, state) else {
        let key = keys.of("trace").unwrap_or("t");
        doc.line([
            ("no trace yet: ".to_owned(), theme.muted()),
            (key.to_owned(), theme.accent()),
            (" traces a name the way the system resolver looks it up".to_owned(), theme.muted()),
        ]);
        return doc;
    };
    let widest = trace.steps.iter().map(|step| row_width(&step_spans(step, theme, None))).max().unwrap_or(0);
    let cells = axis_cells(width, widest);
    let (bars, total) = bars(&trace.steps, cells);
    let mut first = heading(store, trace, theme);
    if cells > 0 {
        first.push((format!("  · bars: linear 0 → {}, ≥ 1 cell", Millis(Some(total))), theme.muted()));
    }
    doc.line(first);
    let bar_of = |step: &TraceStep| {
        let at = trace.steps.iter().position(|s| std::ptr::eq(s, step))?;
        bars.get(at).map(|bar| (*bar, cells))
    };
    let groups = tree(trace);
    for (i, candidate) in groups.iter().enumerate() {
        let (fork, stem) = branch(i + 1 == groups.len());
        let answered = trace.answered_by.as_deref().is_some_and(|name| same_name(name, candidate.name));
        let mut line = vec![(fork.to_owned(), theme.border()), (candidate.name.to_owned(), theme.text())];
        if answered {
            line.push(("  ✓".to_owned(), theme.ok()));
        }
        doc.line(line);
        for (j, server) in candidate.servers.iter().enumerate() {
            let (server_fork, server_stem) = branch(j + 1 == candidate.servers.len());
            doc.line([
                (format!("{stem}{server_fork}"), theme.border()),
                (server.address.to_string(), theme.text()),
            ]);
            for (k, step) in server.steps.iter().enumerate() {
                let (step_fork, _) = branch(k + 1 == server.steps.len());
                let mut line = vec![(format!("{stem}{server_stem}{step_fork}"), theme.border())];
                line.extend(step_spans(step, theme, bar_of(step)));
                doc.line(line);
            }
        }
    }
    let label = |text: &str| (format!("{text:<LABEL$}"), theme.muted());
    match (&trace.error, trace.result.as_slice()) {
        (Some(error), _) => doc.line([label("answer"), (format!("✗ {error}"), theme.error())]),
        (None, []) => doc.line([label("answer"), ("no address".to_owned(), theme.warn())]),
        (None, result) => doc.line([label("answer"), (addresses(result), theme.ok())]),
    }
    if let Some(system) = &trace.system {
        let (text, style) = match (&system.error, system.addresses.as_slice()) {
            (Some(error), _) => (format!("✗ {error}"), theme.error()),
            (None, []) => ("no address".to_owned(), theme.warn()),
            (None, list) => (addresses(list), theme.text()),
        };
        doc.line([
            label("system"),
            (text, style),
            (format!(" · getaddrinfo {}", Millis(Some(system.latency_ms))), theme.muted()),
        ]);
    }
    for difference in &trace.differences {
        doc.line([(format!("⚠ {difference}"), theme.warn())]);
    }
    doc
}

/// Draw the view in `area`, its border highlighted when it has the focus.
/// Records how far the view can scroll.
pub(crate) fn render(buf: &mut Buffer, area: Rect, state: &mut DnsState, ctx: &Paint<'_>, focused: bool) {
    let Paint { store, theme, now, keys } = *ctx;
    if area.is_empty() {
        return;
    }
    let trace = shown(store, state);
    let mut title = vec![("Trace", theme.title())];
    if let Some(trace) = trace {
        title.push((" ", theme.muted()));
        title.push((trace.name.as_str(), theme.accent()));
    }
    let notes = trace.map(|trace| Ago { at: trace.started_at, now }.to_string()).unwrap_or_default();
    let border = if focused { theme.border_focused() } else { theme.border() };
    let inner = pane(buf, area, border, &title, &[(notes.as_str(), theme.muted())]);
    if inner.is_empty() {
        return;
    }
    let padded = Rect::new(inner.x + 1, inner.y, inner.width.saturating_sub(1), inner.height);
    let doc = doc_for_width(store, state, keys, theme, padded.width.saturating_sub(1));
    let visible = usize::from(padded.height);
    let scroll = state.trace.record(doc.len().saturating_sub(visible), visible);
    doc.render(buf, padded, scroll);
    scroll_marks(buf, area, scroll, visible, doc.len(), theme);
}

#[cfg(test)]
mod tests {
    use netlens_collectors::fake;
    use netlens_collectors::model::DnsAnswer;

    use super::*;

    fn text(spans: &[(String, Style)]) -> String {
        spans.iter().map(|(text, _)| text.as_str()).collect()
    }

    fn step(qtype: &str, rcode: Option<&str>) -> TraceStep {
        TraceStep {
            candidate: "www.example.test".into(),
            server: "192.0.2.53:53".parse().unwrap_or_else(|e| panic!("{e}")),
            client: None,
            qtype: qtype.into(),
            transport: DnsTransport::Udp,
            attempt: 1,
            rcode: rcode.map(str::to_owned),
            nodata: false,
            truncated: false,
            answers: Vec::new(),
            cname_chain: Vec::new(),
            ignored: 0,
            latency_ms: 1.5,
            error: None,
        }
    }

    #[test]
    fn steps_say_what_came_back() {
        let theme = Theme::monochrome();
        let mut truncated = step("AAAA", Some("NOERROR"));
        truncated.truncated = true;
        assert_eq!(text(&step_spans(&truncated, &theme, None)), "AAAA  udp  NOERROR  1.50ms  TC → tcp");
        let mut over_tcp = step("A", Some("NOERROR"));
        over_tcp.transport = DnsTransport::Tcp;
        over_tcp.attempt = 2;
        over_tcp.cname_chain = vec!["www.example.test".into(), "edge.example.test".into()];
        let record = |rtype: &str, data: &str, ttl| DnsAnswer {
            name: "edge.example.test".into(),
            rtype: rtype.into(),
            data: data.into(),
            ttl,
        };
        over_tcp.answers = vec![
            record("CNAME", "edge.example.test.", 600),
            record("A", "192.0.2.7", 60),
            record("A", "192.0.2.8", 30),
        ];
        assert_eq!(
            text(&step_spans(&over_tcp, &theme, None)),
            "A     tcp  NOERROR  1.50ms  www.example.test → edge.example.test → 192.0.2.7 192.0.2.8 (ttl 30) (try 2)"
        );
        let mut refused = step("A", None);
        refused.transport = DnsTransport::Tcp;
        refused.error = Some("connection refused".into());
        assert_eq!(
            text(&step_spans(&refused, &theme, None)),
            "A     tcp  failed   1.50ms  connection refused"
        );
        let mut slow_tcp = step("A", None);
        slow_tcp.error = Some("timeout after 2000 ms waiting for the TCP answer".into());
        assert_eq!(
            text(&step_spans(&slow_tcp, &theme, None)),
            "A     udp  timeout  1.50ms  timeout after 2000 ms waiting for the TCP answer"
        );
        let mut timeout = step("A", None);
        timeout.error = Some("timeout after 2000 ms".into());
        timeout.latency_ms = 2_000.0;
        timeout.ignored = 1;
        assert_eq!(
            text(&step_spans(&timeout, &theme, None)),
            "A     udp  timeout   2.00s  (1 stray reply ignored)"
        );
        let mut nodata = step("AAAA", Some("NOERROR"));
        nodata.nodata = true;
        assert_eq!(text(&step_spans(&nodata, &theme, None)), "AAAA  udp  NODATA   1.50ms");
    }

    #[test]
    fn the_scripted_trace_is_a_tree() {
        let store = fake::store();
        let ui = crate::UiState::new();
        let lines: Vec<String> = {
            let doc = doc(&store, &ui.tabs.dns, Keys(ui.bindings()), &Theme::monochrome());
            let mut buf = Buffer::empty(Rect::new(0, 0, 120, doc.len() as u16));
            let area = buf.area;
            doc.render(&mut buf, area, 0);
            (0..buf.area.height)
                .map(|y| (0..120).map(|x| buf[(x, y)].symbol()).collect::<String>().trim_end().to_owned())
                .collect()
        };
        assert_eq!(
            lines,
            [
                "db  (search corp.test lab.test, ndots 1)  → 10.0.0.5 2001:db8::5  2.00s",
                "├─ db.corp.test",
                "│  ├─ 10.0.0.53:53",
                "│  │  ├─ A     udp  timeout   2.00s",
                "│  │  └─ AAAA  udp  timeout   2.00s",
                "│  └─ 10.0.1.53:53",
                "│     ├─ A     udp  NXDOMAIN 1.20ms",
                "│     └─ AAAA  udp  NXDOMAIN 1.10ms",
                "└─ db.lab.test  ✓",
                "   └─ 10.0.1.53:53",
                "      ├─ A     udp  NOERROR  1.00ms  db.lab.test → db-1.lab.test → 10.0.0.5 (ttl 300)",
                "      └─ AAAA  udp  NOERROR   900µs  db.lab.test → db-1.lab.test → 2001:db8::5 (ttl 300)",
                "answer  10.0.0.5 2001:db8::5",
                "system  10.0.0.5 · getaddrinfo 800µs",
                "⚠ system answer lacks AAAA 2001:db8::5: AI_ADDRCONFIG dropped IPv6 (no global IPv6 address)",
            ]
        );
    }

    #[test]
    fn a_wide_trace_carries_its_waterfall() {
        let store = fake::store();
        let ui = crate::UiState::new();
        let doc = doc_for_width(&store, &ui.tabs.dns, Keys(ui.bindings()), &Theme::monochrome(), 120);
        let mut buf = Buffer::empty(Rect::new(0, 0, 200, doc.len() as u16));
        let area = buf.area;
        doc.render(&mut buf, area, 0);
        let lines: Vec<String> =
            (0..area.height).map(|y| (0..200).map(|x| buf[(x, y)].symbol()).collect::<String>()).collect();
        assert_eq!(doc.len(), 15, "the bars add no line");
        assert!(lines[0].contains("· bars: linear 0 → 2.00s, ≥ 1 cell"), "{lines:#?}");
        // The 2 s timeouts span the axis (the 31 cells the answers leave); the
        // millisecond answers after them are one cell each, at the end of it.
        assert!(
            lines[3].starts_with(&format!("│  │  ├─ A     udp  timeout   2.00s {}", "░".repeat(31))),
            "{lines:#?}"
        );
        let answer_bar =
            format!("900µs {}█  db.lab.test → db-1.lab.test → 2001:db8::5 (ttl 300)", " ".repeat(30));
        assert!(lines[11].trim_end().ends_with(&answer_bar), "nothing cut: {lines:#?}");
        assert_eq!(axis_cells(200, 30), MAX_AXIS);
        assert_eq!(axis_cells(60, 80), MIN_AXIS, "answers cut rather than the bars");
        assert_eq!(axis_cells(40, 0), 0, "too narrow: no bars");
    }
}
