//! The details view of one path: the verdict and where traffic leaves, every check of
//! the chain with its result, the probe's RTT history (failed probes marked ✗ between
//! the bars) with loss and jitter, the Happy Eyeballs race as a small timeline, and the
//! recent transitions. Two columns on wide screens, one scrolled column on narrow ones;
//! under them, when the height allows, the verdict as a band over time with the probe's
//! RTT chart and failed probes beneath.

use std::fmt::Write as _;

use netlens_collectors::Store;
use netlens_collectors::history::Ring;
use netlens_collectors::model::{AttemptOutcome, ConnectAttempt, PathState, ProbeSummary, Route, Timestamp};
use netlens_collectors::store::PathSample;
use ratatui::Frame;
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::Style;

use super::path_text::{notes, pending_text, reason_text};
use super::tones::{loss_style, status_style};
use crate::context::Paint;
use crate::format::{Ago, Millis, Span};
use crate::state::PathDetails;
use crate::theme::Theme;
use crate::widgets::chart::{MIN_CHART_HEIGHT, RatePoints, rate_chart};
use crate::widgets::columns::{render_columns, split};
use crate::widgets::marks::{note, scroll_marks};
use crate::widgets::pane::pane;
use crate::widgets::sparkline::bar;
use crate::widgets::status_band::{band, legend, render_band, render_rtt, slot_count, window};
use crate::widgets::text::{self, Doc, fill, put, put_spans};

/// Label column width.
const LABEL: usize = 12;

/// The RTT sparkline is scaled to at least this peak (milliseconds).
const RTT_FLOOR_MS: f64 = 1.0;

/// Widest bar of the Happy Eyeballs timeline.
const MAX_RACE_BAR: usize = 40;

/// Narrowest bar worth drawing beside the address; below it the bar gets its own row.
const MIN_RACE_BAR: usize = 10;

/// Transitions listed at most (newest first).
const MAX_TRANSITIONS: usize = 20;

/// Rows the verdict history needs: the band, its time axis and the legend.
const BAND_ROWS: u16 = 3;

/// The rows under `lines` of text in `area` (after a blank line) for the verdict
/// history, if the band fits and the target has a history.
fn history_room(area: Rect, lines: usize) -> Option<Rect> {
    let used = u16::try_from(lines).unwrap_or(u16::MAX).saturating_add(1);
    let height = area.height.saturating_sub(used);
    (height >= BAND_ROWS && area.width > 20).then(|| Rect { y: area.y + used, height, ..area })
}

/// The verdict over time as a band with its axis and legend, then (when the rows
/// allow and the target is probed) the RTT chart with failed probes marked. An
/// unprobed path shows instead its transitions (when `list_transitions`: the details
/// view lists them beside) and the traffic of the interface it leaves through.
fn draw_history(
    buf: &mut Buffer,
    area: Rect,
    (store, path, samples): (&Store, &PathState, &Ring<PathSample>),
    (theme, now): (&Theme, Timestamp),
    list_transitions: bool,
) {
    let window_s = window(samples.iter(), now);
    let slots = band(samples.iter(), now, window_s, slot_count(area.width));
    let style = |status| status_style(theme, status);
    render_band(buf, Rect { height: 2, ..area }, &slots, window_s, theme, style);
    let spans = legend(theme, style);
    let spans: Vec<(&str, Style)> = spans.iter().map(|(text, style)| (text.as_str(), *style)).collect();
    put_spans(buf, area.x + 8, area.y + 2, area.width.saturating_sub(8), &spans);
    let rtt = Rect { y: area.y + BAND_ROWS + 1, height: area.height.saturating_sub(BAND_ROWS + 1), ..area };
    if render_rtt(buf, rtt, samples.iter(), now, window_s, &slots, theme) {
        return;
    }
    let mut rest = rtt;
    if list_transitions {
        let doc = transitions(path, theme, now);
        doc.render(buf, rest, 0);
        let used = u16::try_from(doc.len()).unwrap_or(u16::MAX).saturating_add(1);
        rest = Rect { y: rest.y + used.min(rest.height), height: rest.height.saturating_sub(used), ..rest };
    }
    let Some(entry) = path.interface_index.and_then(|index| store.interface(index)) else { return };
    if rest.height <= MIN_CHART_HEIGHT || entry.history.len() < 2 {
        return;
    }
    let caption = format!("Traffic on {}, the interface this path leaves through", entry.info.name);
    put(buf, rest.x, rest.y, rest.width, &caption, theme.title());
    let chart = Rect { y: rest.y + 1, height: rest.height - 1, ..rest };
    rate_chart(buf, chart, &RatePoints::of(&entry.history), theme);
}

fn label(text: &str) -> String {
    format!("{text:<LABEL$}")
}

/// `✓` or `✗` with its colour.
fn mark(ok: bool, theme: &Theme) -> (String, Style) {
    if ok { ("✓ ".to_owned(), theme.ok()) } else { ("✗ ".to_owned(), theme.error()) }
}

/// The verdict line: status, reason, pending change.
fn verdict(path: &PathState, theme: &Theme, now: Timestamp) -> Vec<(String, Style)> {
    let style = status_style(theme, path.status);
    let mut spans = vec![(label("status"), theme.muted()), (path.status.as_str().to_owned(), style)];
    if let Some(reason) = reason_text(path, false) {
        spans.push((format!(" {reason}"), style));
    }
    let held = (now - path.since).whole_seconds().max(0).unsigned_abs();
    spans.push((format!("  for {}", Span(held)), theme.muted()));
    if let (Some(pending), Some(text)) = (&path.pending, pending_text(path)) {
        spans.push((format!("  {text}"), theme.warn()));
        spans.push((format!(" seen {}", Ago { at: pending.since, now }), theme.muted()));
    }
    spans
}

/// `unicast via 192.168.1.1 dev eth0 [ethernet] src 192.168.1.23`.
fn route_spans(path: &PathState, theme: &Theme) -> Vec<(String, Style)> {
    let mut spans = Vec::new();
    if let Some(route_type) = path.route_type {
        spans.push((format!("{} ", route_type.as_str()), theme.text()));
    }
    if let Some(gateway) = path.gateway {
        spans.push(("via ".to_owned(), theme.muted()));
        spans.push((format!("{gateway} "), theme.text()));
    }
    if let Some(name) = &path.interface {
        spans.push(("dev ".to_owned(), theme.muted()));
        spans.push((name.clone(), theme.accent()));
        if let Some(kind) = path.interface_kind {
            spans.push((format!(" [{}]", kind.as_str()), theme.muted()));
        }
        spans.push((" ".to_owned(), theme.muted()));
    }
    if let Some(source) = path.source {
        spans.push(("src ".to_owned(), theme.muted()));
        spans.push((source.to_string(), theme.text()));
    }
    if spans.is_empty() {
        spans.push(("no route looked up".to_owned(), theme.muted()));
    }
    spans
}

fn availability(path: &PathState, theme: &Theme) -> Vec<(String, Style)> {
    super::path_text::availability(path, theme)
}

/// Verdict, route facts and the checks.
fn main_column(path: &PathState, theme: &Theme, now: Timestamp) -> Doc {
    let mut doc = Doc::default();
    doc.line([("Verdict".to_owned(), theme.title())]);
    doc.line(verdict(path, theme, now));
    if let Some(destination) = path.destination {
        let family = path.family.map(|f| format!("  {}", f.as_str())).unwrap_or_default();
        doc.line([
            (label("destination"), theme.muted()),
            (destination.to_string(), theme.text()),
            (family, theme.muted()),
        ]);
    }
    let mut route = vec![(label("route"), theme.muted())];
    route.extend(route_spans(path, theme));
    doc.line(route);
    if path.table.is_some() || path.matched_prefix.is_some() {
        let mut spans = vec![(label("matched"), theme.muted())];
        if let Some(prefix) = &path.matched_prefix {
            spans.push((prefix.clone(), theme.text()));
        }
        if let Some(table) = path.table {
            spans.push((" in table ".to_owned(), theme.muted()));
            spans.push((Route::table_name(table), theme.info()));
        }
        doc.line(spans);
    }
    let mut available = vec![(label("available"), theme.muted())];
    available.extend(availability(path, theme));
    doc.line(available);
    let notes = notes(path);
    if !notes.is_empty() {
        let text = if path.tunnel.is_some() { format!("tunnel {notes}") } else { notes };
        doc.line([(label("notes"), theme.muted()), (text, theme.info())]);
    }
    doc.line([
        (label("evaluated"), theme.muted()),
        (Ago { at: path.evaluated_at, now }.to_string(), theme.muted()),
    ]);
    doc.blank();
    doc.append(checks(path, theme));
    doc
}

/// Every check of the latest evaluation, in chain order.
fn checks(path: &PathState, theme: &Theme) -> Doc {
    let mut doc = Doc::default();
    doc.line([(format!("Checks ({})", path.checks.len()), theme.title())]);
    if path.checks.is_empty() {
        doc.line([("  not evaluated yet".to_owned(), theme.muted())]);
    }
    let name_width = path.checks.iter().map(|c| c.name.as_str().len()).max().unwrap_or(0);
    for check in &path.checks {
        let (symbol, style) = mark(check.ok, theme);
        doc.line([
            ("  ".to_owned(), theme.muted()),
            (symbol, style),
            (format!("{:<name_width$}  ", check.name.as_str()), theme.text()),
            (check.detail.clone(), if check.ok { theme.muted() } else { style }),
        ]);
    }
    doc
}

/// The RTT history as bars, the newest `cells` probes, failed ones as `✗`.
fn history_spans(probe: &ProbeSummary, cells: usize, theme: &Theme) -> Vec<(String, Style)> {
    let newest: Vec<Option<f64>> = probe.history.iter().rev().take(cells).rev().copied().collect();
    // Scaled so the slowest probe draws at three quarters: a steady RTT reads as steady.
    let peak = newest.iter().flatten().copied().fold(RTT_FLOOR_MS, f64::max) * 4.0 / 3.0;
    let mut spans: Vec<(String, Style)> = Vec::new();
    for rtt in newest {
        let (cell, style) = match rtt {
            Some(rtt) => (bar(rtt, peak), theme.accent()),
            None => ('✗', theme.error()),
        };
        match spans.last_mut() {
            Some((text, last)) if *last == style => text.push(cell),
            _ => spans.push((cell.to_string(), style)),
        }
    }
    spans
}

/// The probe: latest result, RTT history, loss and jitter.
fn probe(path: &PathState, theme: &Theme, width: u16) -> Doc {
    let mut doc = Doc::default();
    let Some(probe) = &path.probe else {
        doc.line([("Probe".to_owned(), theme.title())]);
        let why = if path.is_default_path() {
            "none: the default paths are never probed"
        } else {
            "none: add the target with a port or probe=tcp|icmp|dns to measure it"
        };
        doc.line([("  ".to_owned(), theme.muted()), (why.to_owned(), theme.muted())]);
        return doc;
    };
    doc.line([
        ("Probe".to_owned(), theme.title()),
        (format!("  {} · {} sent", probe.kind, probe.sent), theme.muted()),
    ]);
    let (symbol, style) = mark(probe.ok, theme);
    let latest = match (&probe.error, probe.ok) {
        (Some(error), false) => error.clone(),
        _ => format!("ok {}", Millis(probe.rtt_ms)),
    };
    doc.line([
        (label("latest"), theme.muted()),
        (symbol, style),
        (latest, if probe.ok { theme.text() } else { style }),
    ]);
    doc.line([(label("rtt"), theme.muted()), (Millis(probe.rtt_ms).to_string(), theme.text())]);
    let loss = probe.loss_pct.map_or_else(|| "–".to_owned(), |loss| format!("{loss:.1}%"));
    let loss_colour = probe.loss_pct.map_or(theme.muted(), |loss| loss_style(theme, loss));
    doc.line([
        (label("loss"), theme.muted()),
        (loss, loss_colour),
        ("  jitter ".to_owned(), theme.muted()),
        (Millis(probe.jitter_ms).to_string(), theme.text()),
    ]);
    if probe.history.is_empty() {
        doc.line([(label("history"), theme.muted()), ("no probes yet".to_owned(), theme.muted())]);
        return doc;
    }
    let cells = usize::from(width.saturating_sub(LABEL as u16)).min(probe.history.len());
    let mut line = vec![(label("history"), theme.muted())];
    line.extend(history_spans(probe, cells, theme));
    doc.line(line);
    let answered: Vec<f64> = probe.history.iter().flatten().copied().collect();
    let failed = probe.history.len() - answered.len();
    let mut summary = format!("{:LABEL$}{} probes", "", probe.history.len());
    if let (Some(low), Some(high)) =
        (answered.iter().copied().reduce(f64::min), answered.iter().copied().reduce(f64::max))
    {
        let _ = write!(summary, " · rtt {} – {}", Millis(Some(low)), Millis(Some(high)));
    }
    if failed > 0 {
        let _ = write!(summary, " · {failed} failed");
    }
    doc.line([(summary, theme.muted())]);
    doc
}

/// How an attempt ended, in words, and its colour: the winner is good news, an
/// also-ran is normal (neutral), and only a race nobody won is an error.
fn attempt_outcome(attempt: &ConnectAttempt, any_winner: bool, theme: &Theme) -> (String, Style) {
    let role = if attempt.winner {
        "winner"
    } else if any_winner {
        "also-ran"
    } else {
        "failed"
    };
    let style = if attempt.winner {
        theme.ok()
    } else if any_winner || attempt.outcome == AttemptOutcome::NotStarted {
        theme.muted()
    } else {
        theme.error()
    };
    (format!("{} {role}", attempt.outcome.as_str()), style)
}

/// The Happy Eyeballs race: one row per attempt with a bar from its start for its
/// duration, all on one time scale, and the scale below.
fn race(path: &PathState, theme: &Theme, width: u16) -> Doc {
    let mut doc = Doc::default();
    if path.attempts.is_empty() {
        return doc;
    }
    doc.line([
        ("Happy Eyeballs".to_owned(), theme.title()),
        (format!("  {} attempts · also-rans are normal", path.attempts.len()), theme.muted()),
    ]);
    let any_winner = path.attempts.iter().any(|a| a.winner);
    let address_width = path.attempts.iter().map(|a| text::width(&a.address.to_string())).max().unwrap_or(0);
    let outcome_width = path
        .attempts
        .iter()
        .map(|a| text::width(&attempt_outcome(a, any_winner, theme).0))
        .max()
        .unwrap_or(0);
    // Address, the bar, `+250ms 23.4ms`, the outcome on one row when the bar gets at
    // least MIN_RACE_BAR cells; else the bar goes on a row of its own below.
    let timing_width = 16;
    let fixed = 2 + address_width + 2 + 2 + timing_width + outcome_width;
    let one_row = usize::from(width) >= fixed + MIN_RACE_BAR;
    let (indent, cells) = if one_row {
        (address_width + 4, (usize::from(width) - fixed).min(MAX_RACE_BAR))
    } else {
        (4, usize::from(width).saturating_sub(4 + 2 + timing_width).clamp(MIN_RACE_BAR, MAX_RACE_BAR))
    };
    let end = path.attempts.iter().map(|a| a.started_ms + a.duration_ms).fold(1.0, f64::max);
    let cell_of = |ms: f64| ((ms / end) * cells as f64).round().clamp(0.0, cells as f64) as usize;
    for attempt in &path.attempts {
        let (outcome, style) = attempt_outcome(attempt, any_winner, theme);
        let start = cell_of(attempt.started_ms).min(cells - 1);
        let stop = cell_of(attempt.started_ms + attempt.duration_ms).clamp(start + 1, cells);
        let bar_style = if attempt.winner { theme.ok() } else { theme.muted() };
        let address = (format!("  {:<address_width$}  ", attempt.address.to_string()), theme.text());
        let mut bar = vec![
            ("·".repeat(start), theme.border()),
            ("█".repeat(stop - start), bar_style),
            ("·".repeat(cells - stop), theme.border()),
            (
                format!(
                    "  +{:<6} {:>6}  ",
                    Millis(Some(attempt.started_ms)).to_string(),
                    Millis(Some(attempt.duration_ms)).to_string()
                ),
                theme.muted(),
            ),
        ];
        if one_row {
            let mut line = vec![address];
            line.append(&mut bar);
            line.push((outcome, style));
            doc.line(line);
        } else {
            doc.line([address, (outcome, style)]);
            let mut line = vec![("    ".to_owned(), theme.muted())];
            line.append(&mut bar);
            doc.line(line);
        }
        if let Some(error) = &attempt.error {
            doc.line([(format!("{:indent$}{error}", ""), theme.muted())]);
        }
    }
    let total = Millis(Some(end)).to_string();
    let scale = format!("0{total:>width$}", width = cells.saturating_sub(1));
    doc.line([(format!("{:indent$}{scale}", ""), theme.muted())]);
    doc
}

/// The recent transitions, newest first.
fn transitions(path: &PathState, theme: &Theme, now: Timestamp) -> Doc {
    let mut doc = Doc::default();
    doc.line([(format!("Transitions ({})", path.transitions.len()), theme.title())]);
    if path.transitions.is_empty() {
        doc.line([(format!("  none: {} since it was added", path.status.as_str()), theme.muted())]);
    }
    for transition in path.transitions.iter().rev().take(MAX_TRANSITIONS) {
        let style =
            if transition.from == transition.to { theme.info() } else { status_style(theme, transition.to) };
        doc.line([
            (format!("  {:>10}  ", Ago { at: transition.at, now }.to_string()), theme.muted()),
            (transition.detail.clone(), style),
        ]);
    }
    doc
}

/// Probe, race and transitions.
fn side_column(path: &PathState, theme: &Theme, now: Timestamp, width: u16) -> Doc {
    let mut doc = probe(path, theme, width);
    let race = race(path, theme, width);
    if race.len() > 0 {
        doc.blank();
        doc.append(race);
    }
    doc.blank();
    doc.append(transitions(path, theme, now));
    doc
}

/// The lines of each column: one, or two when `right` exists.
fn columns(
    path: &PathState,
    theme: &Theme,
    now: Timestamp,
    (left, right): (Rect, Option<Rect>),
) -> (Doc, Option<Doc>) {
    let mut main = main_column(path, theme, now);
    let side = side_column(path, theme, now, right.map_or(left.width, |r| r.width));
    if right.is_some() {
        return (main, Some(side));
    }
    main.blank();
    main.append(side);
    (main, None)
}

/// The preview's lines: the route, the checks in a row, availability, the probe with
/// its history, the Happy Eyeballs winner and the latest transition.
fn preview_doc(path: &PathState, theme: &Theme, now: Timestamp, width: u16) -> Doc {
    let mut doc = Doc::default();
    doc.line(verdict(path, theme, now));
    let mut route = vec![(label("route"), theme.muted())];
    route.extend(route_spans(path, theme));
    if let Some(table) = path.table {
        route.push((" · table ".to_owned(), theme.muted()));
        route.push((Route::table_name(table), theme.info()));
    }
    if let Some(prefix) = &path.matched_prefix {
        route.push((format!(" · {prefix}"), theme.muted()));
    }
    doc.line(route);
    let mut checks = vec![(label("checks"), theme.muted())];
    for check in &path.checks {
        let (symbol, style) = mark(check.ok, theme);
        checks.push((symbol, style));
        checks.push((format!("{} ", check.name.as_str()), if check.ok { theme.text() } else { style }));
    }
    if path.checks.is_empty() {
        checks.push(("not evaluated yet".to_owned(), theme.muted()));
    }
    doc.line(checks);
    if let Some(failed) = path.checks.iter().find(|c| !c.ok) {
        doc.line([(label(""), theme.muted()), (failed.detail.clone(), theme.error())]);
    }
    let mut available = vec![(label("available"), theme.muted())];
    available.extend(availability(path, theme));
    let notes = notes(path);
    if !notes.is_empty() {
        available.push((format!(" · {notes}"), theme.info()));
    }
    doc.line(available);
    if let Some(probe) = &path.probe {
        let loss = probe.loss_pct.map_or_else(|| "–".to_owned(), |loss| format!("{loss:.1}%"));
        let mut line = vec![
            (label("probe"), theme.muted()),
            (format!("{} ", probe.kind), theme.text()),
            (Millis(probe.rtt_ms).to_string(), if probe.ok { theme.text() } else { theme.warn() }),
            (" · loss ".to_owned(), theme.muted()),
            (loss, probe.loss_pct.map_or(theme.muted(), |l| loss_style(theme, l))),
            (" · jitter ".to_owned(), theme.muted()),
            (Millis(probe.jitter_ms).to_string(), theme.text()),
            ("  ".to_owned(), theme.muted()),
        ];
        let used: usize = line.iter().map(|(part, _)| text::width(part)).sum();
        let cells = usize::from(width).saturating_sub(used).min(probe.history.len()).min(60);
        line.extend(history_spans(probe, cells, theme));
        doc.line(line);
    }
    if let Some(winner) = path.attempts.iter().find(|a| a.winner) {
        let others = path.attempts.len() - 1;
        let plural = if others == 1 { "" } else { "s" };
        doc.line([
            (label("race"), theme.muted()),
            (winner.address.to_string(), theme.ok()),
            (
                format!(" won at +{} · {others} also-ran{plural}", Millis(Some(winner.started_ms))),
                theme.muted(),
            ),
        ]);
    }
    if let Some(last) = path.transitions.last() {
        doc.line([
            (label("changed"), theme.muted()),
            (format!("{}  ", Ago { at: last.at, now }), theme.muted()),
            (last.detail.clone(), theme.text()),
        ]);
    }
    doc
}

/// A preview of the selected path under a table that leaves room for one.
pub(crate) fn preview(
    buf: &mut Buffer,
    area: Rect,
    store: &Store,
    path: &PathState,
    theme: &Theme,
    now: Timestamp,
    hint: &str,
) {
    let title = [(path.target.as_str(), theme.title())];
    let inner = pane(buf, area, theme.border(), &title, &[(hint, theme.muted())]);
    if inner.is_empty() {
        return;
    }
    let padded = Rect::new(inner.x + 1, inner.y, inner.width.saturating_sub(2), inner.height);
    let doc = preview_doc(path, theme, now, padded.width);
    doc.render(buf, padded, 0);
    let history = store.path_history().of(&path.target);
    match (history, history_room(padded, doc.len())) {
        (Some(samples), Some(room)) => draw_history(buf, room, (store, path, samples), (theme, now), true),
        _ => scroll_marks(buf, area, 0, usize::from(inner.height), doc.len(), theme),
    }
}

/// Draw the details of the open path into `area`.
pub(crate) fn render(frame: &mut Frame, area: Rect, open: &mut PathDetails, ctx: &Paint<'_>) {
    let Paint { store, theme, now, .. } = *ctx;
    let buf = frame.buffer_mut();
    fill(buf, area, theme.overlay());
    let Some(path) = store.path(&open.target) else {
        let inner = pane(
            buf,
            area,
            theme.border_focused(),
            &[("Path", theme.title())],
            &[("esc back", theme.muted())],
        );
        let text = format!("{} is no longer watched · esc goes back to the list", open.target);
        note(buf, inner, &text, theme.muted());
        return;
    };
    let subtitle = path.family.map(|f| format!("  {}", f.as_str())).unwrap_or_default();
    let title = [(path.target.as_str(), theme.title()), (subtitle.as_str(), theme.muted())];
    let inner = pane(buf, area, theme.border_focused(), &title, &[("↑↓ scroll  esc back", theme.muted())]);
    if inner.is_empty() {
        return;
    }
    let (left, right) = split(inner);
    let docs = columns(path, theme, now, (left, right));
    // When the text fits with room to spare, the verdict history takes the rest across
    // the whole width; otherwise the text scrolls as before.
    let tallest = docs.0.len().max(docs.1.as_ref().map_or(0, Doc::len));
    let padded = Rect { x: inner.x + 1, width: inner.width.saturating_sub(2), ..inner };
    let history = store.path_history().of(&path.target).zip(history_room(padded, tallest));
    let (text, left, right) = match history {
        Some((_, room)) => {
            let height = room.y - 1 - inner.y;
            let shorten = |r: Rect| Rect { height, ..r };
            (shorten(inner), shorten(left), right.map(shorten))
        }
        None => (inner, left, right),
    };
    let (overflow, shown) = render_columns(buf, area, text, (left, right), docs, open.scroll.line, theme);
    open.scroll.record(overflow, shown);
    if let Some((samples, room)) = history {
        draw_history(buf, room, (store, path, samples), (theme, now), false);
    }
}
