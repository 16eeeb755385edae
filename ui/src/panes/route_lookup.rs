//! The route lookup popup (`r`): the kernel's answer to the lookup last asked for, as
//! `ip route get` prints it, with the policy rule that chose the table, the table and
//! the matching prefix — or "looking up…" until the store holds the answer to exactly
//! this query.

use netlens_collectors::Store;
use netlens_collectors::model::{RouteLookupReport, Timestamp};
use netlens_collectors::paths::query::LookupRequest;
use ratatui::Frame;
use ratatui::layout::Rect;

use crate::context::Paint;
use crate::format::Ago;
use crate::theme::Theme;
use crate::widgets::pane::pane;
use crate::widgets::text::{Doc, fill, wrap};

/// Widest the popup gets.
const MAX_WIDTH: u16 = 96;

/// Label column width.
const LABEL: usize = 8;

/// The store's report, when it answers `request` (the report's query is the request's
/// canonical text).
pub(crate) fn answer<'s>(store: &'s Store, request: &LookupRequest) -> Option<&'s RouteLookupReport> {
    let query = request.to_string();
    store.route_lookup().filter(|report| report.query == query)
}

fn lines(store: &Store, request: &LookupRequest, theme: &Theme, now: Timestamp, width: u16) -> Doc {
    let mut doc = Doc::default();
    let label = |text: &str| (format!("{text:<LABEL$}"), theme.muted());
    let room = usize::from(width).saturating_sub(LABEL).max(10);
    doc.line([label("query"), (request.to_string(), theme.accent())]);
    let Some(report) = answer(store, request) else {
        doc.line([label("answer"), ("looking up…".to_owned(), theme.muted())]);
        return doc;
    };
    let (text, style) = match &report.answer {
        Ok(route) => (route.as_str(), theme.text()),
        Err(refusal) => (refusal.as_str(), theme.error()),
    };
    // The answer is the point of the popup: wrap it rather than cut it.
    for (i, part) in wrap(text, room).into_iter().enumerate() {
        doc.line([label(if i == 0 { "answer" } else { "" }), (part, style)]);
    }
    let fact = |name: &str, value: Option<&String>| {
        [label(name), value.map_or_else(|| ("–".to_owned(), theme.muted()), |v| (v.clone(), theme.text()))]
    };
    doc.line(fact("rule", report.rule.as_ref()));
    doc.line(fact("table", report.table.as_ref()));
    doc.line(fact("prefix", report.matched_prefix.as_ref()));
    doc.line([label("asked"), (Ago { at: report.at, now }.to_string(), theme.muted())]);
    doc
}

/// Draw the popup centred over `body`.
pub(crate) fn render(frame: &mut Frame, body: Rect, request: Option<&LookupRequest>, ctx: &Paint<'_>) {
    let Paint { store, theme, now, keys } = *ctx;
    let Some(request) = request else { return };
    let width = body.width.min(MAX_WIDTH);
    let doc = lines(store, request, theme, now, width.saturating_sub(4));
    let height = (doc.len() as u16 + 2).min(body.height);
    let outer =
        Rect::new(body.x + (body.width - width) / 2, body.y + (body.height - height) / 2, width, height);
    let buf = frame.buffer_mut();
    fill(buf, outer, theme.overlay());
    let again = keys.of("route_lookup").unwrap_or("r");
    let close = keys.of("close").unwrap_or("esc");
    let notes = format!("{again} another  {close} closes");
    let inner = pane(
        buf,
        outer,
        theme.border_focused(),
        &[("Route lookup", theme.title())],
        &[(&notes, theme.muted())],
    );
    if inner.is_empty() {
        return;
    }
    let padded = Rect::new(inner.x + 1, inner.y, inner.width.saturating_sub(2), inner.height);
    doc.render(buf, padded, 0);
}
