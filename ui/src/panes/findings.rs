//! Findings on screen: the Overview's panel of open findings (most severe first), the
//! details view of one (its evidence, cause and fix, Enter on the panel), and the
//! one-line banner under the tab bar that names the most severe on every tab.

use netlens_collectors::Store;
use netlens_collectors::model::{Finding, Severity, Timestamp};
use ratatui::Frame;
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::Style;

use super::event_details::wrap_whole;
use crate::context::Paint;
use crate::format::{Ago, Clock};
use crate::state::FindingDetails;
use crate::theme::Theme;
use crate::widgets::marks::{position, scroll_marks};
use crate::widgets::pane::pane;
use crate::widgets::text::{Doc, fill, put, put_spans};

/// Most findings the Overview lists before the rest scroll.
pub(crate) const PANEL_ROWS: u16 = 4;

/// Widest the details view gets.
const MAX_WIDTH: u16 = 100;
/// Label column width in the details view.
const LABEL: usize = 10;

/// The mark and style of a severity: `✗` critical, `⚠` warning, `●` info.
pub(crate) fn mark(severity: Severity, theme: &Theme) -> (&'static str, Style) {
    match severity {
        Severity::Critical => ("✗", theme.error()),
        Severity::Warning => ("⚠", theme.warn()),
        Severity::Info => ("●", theme.info()),
    }
}

/// Rows the Overview's panel wants, borders included; none while no finding is open.
pub(crate) fn panel_height(store: &Store) -> u16 {
    match store.findings().open().len() {
        0 => 0,
        n => u16::try_from(n).unwrap_or(u16::MAX).min(PANEL_ROWS) + 2,
    }
}

/// The Overview's panel: each open finding on a row, most severe first — its mark,
/// severity, title and age — with the cursor on `cursor` (clamped; returned).
pub(crate) fn panel(buf: &mut Buffer, area: Rect, cursor: usize, ctx: &Paint<'_>) -> usize {
    let Paint { store, theme, now, keys } = *ctx;
    let open = store.findings().open();
    if area.is_empty() || open.is_empty() {
        return 0;
    }
    let cursor = cursor.min(open.len() - 1);
    let count = open.len().to_string();
    let hint = format!("{} evidence & fix", keys.of("open").unwrap_or("enter"));
    let title = [("Findings", theme.title()), (" ", theme.muted()), (count.as_str(), theme.muted())];
    let inner = pane(buf, area, theme.border(), &title, &[(&hint, theme.muted())]);
    if inner.is_empty() {
        return cursor;
    }
    let shown = usize::from(inner.height);
    let offset = cursor.saturating_sub(shown - 1);
    for ((i, finding), y) in open.iter().enumerate().skip(offset).zip(inner.top()..inner.bottom()) {
        let row = Rect::new(inner.x, y, inner.width, 1);
        let selected = i == cursor;
        if selected {
            fill(buf, row, theme.selection());
        }
        let paint = |style: Style| if selected { theme.selection().patch(style) } else { style };
        let (glyph, style) = mark(finding.severity, theme);
        let age = Ago { at: finding.opened_at, now }.to_string();
        let age_width = u16::try_from(age.chars().count()).unwrap_or(0) + 1;
        let text_width = inner.width.saturating_sub(age_width + 2);
        put_spans(
            buf,
            inner.x + 1,
            y,
            text_width,
            &[
                (glyph, paint(style)),
                (" ", paint(theme.text())),
                (&format!("{:<9}", finding.severity.as_str()), paint(style)),
                (&finding.title, paint(theme.text())),
            ],
        );
        if inner.width > age_width + 20 {
            put(buf, inner.right() - age_width, y, age_width, &age, paint(theme.muted()));
        }
    }
    scroll_marks(buf, area, offset, shown, open.len(), theme);
    position(buf, area, cursor, open.len(), theme.muted());
    cursor
}

/// The open finding at `cursor` in the panel's order.
pub(crate) fn at_cursor(store: &Store, cursor: usize) -> Option<&Finding> {
    let open = store.findings().open();
    let last = open.len().checked_sub(1)?;
    open.get(cursor.min(last)).copied()
}

/// The finding `id`: open, else the newest closed one of that id.
fn by_id<'s>(store: &'s Store, id: &str) -> Option<&'s Finding> {
    let findings = store.findings();
    findings.open().into_iter().find(|f| f.id == id).or_else(|| findings.closed().rev().find(|f| f.id == id))
}

fn lines(finding: &Finding, theme: &Theme, now: Timestamp, width: usize) -> Doc {
    let mut doc = Doc::default();
    let label = |text: &str| (format!("{text:<LABEL$}"), theme.muted());
    let room = width.saturating_sub(LABEL).max(10);
    let (glyph, style) = mark(finding.severity, theme);
    doc.line([(format!("{glyph} "), style), (finding.title.clone(), theme.text())]);
    doc.blank();
    doc.line([label("severity"), (finding.severity.as_str().to_owned(), style)]);
    doc.line([label("rule"), (finding.rule.clone(), theme.accent())]);
    doc.line([label("subject"), (finding.subject.clone(), theme.text())]);
    let opened = format!("{} UTC · {}", Clock(finding.opened_at), Ago { at: finding.opened_at, now });
    doc.line([label("opened"), (opened, theme.text())]);
    match finding.closed_at {
        Some(closed) => {
            let text =
                format!("{} UTC · {} (the condition stayed clear)", Clock(closed), Ago { at: closed, now });
            doc.line([label("closed"), (text, theme.ok())]);
        }
        None => doc.line([label("closed"), ("open".to_owned(), style)]),
    }
    doc.blank();
    doc.line([("Evidence".to_owned(), theme.title())]);
    for evidence in &finding.evidence {
        // `• fact  value` on one line when both fit; else the fact, then the value below it.
        if evidence.fact.chars().count() + evidence.value.chars().count() + 4 <= width {
            doc.line([
                ("• ".to_owned(), theme.muted()),
                (evidence.fact.clone(), theme.muted()),
                ("  ".to_owned(), theme.muted()),
                (evidence.value.clone(), theme.text()),
            ]);
            continue;
        }
        let fact = wrap_whole(&evidence.fact, width.saturating_sub(2).max(10));
        let value = wrap_whole(&evidence.value, room.saturating_sub(2).max(10));
        for (i, part) in fact.iter().enumerate() {
            let lead = if i == 0 { "• " } else { "  " };
            doc.line([(lead.to_owned(), theme.muted()), (part.clone(), theme.muted())]);
        }
        for part in value {
            doc.line([(" ".repeat(LABEL), theme.muted()), (part, theme.text())]);
        }
    }
    doc.blank();
    doc.line([("Cause".to_owned(), theme.title())]);
    for part in wrap_whole(&finding.cause, width.max(10)) {
        doc.line([(part, theme.text())]);
    }
    doc.blank();
    doc.line([("Fix".to_owned(), theme.title())]);
    for part in wrap_whole(&finding.fix, width.max(10)) {
        doc.line([(part, theme.accent())]);
    }
    doc
}

/// Draw the details view of `open` centred over `body`, recording how far it scrolls.
pub(crate) fn details(frame: &mut Frame, body: Rect, open: &mut FindingDetails, ctx: &Paint<'_>) {
    let Paint { store, theme, now, keys } = *ctx;
    let width = body.width.min(MAX_WIDTH);
    let doc = by_id(store, &open.id).map_or_else(
        || {
            let mut doc = Doc::default();
            doc.line([(
                "this finding is no longer kept (netlens keeps the newest closed ones)",
                theme.muted(),
            )]);
            doc
        },
        |finding| lines(finding, theme, now, usize::from(width.saturating_sub(4))),
    );
    let height = (u16::try_from(doc.len()).unwrap_or(u16::MAX).saturating_add(2)).min(body.height);
    let outer =
        Rect::new(body.x + (body.width - width) / 2, body.y + (body.height - height) / 2, width, height);
    let buf = frame.buffer_mut();
    fill(buf, outer, theme.overlay());
    let notes = format!("{} closes", keys.of("close").unwrap_or("esc"));
    let inner =
        pane(buf, outer, theme.border_focused(), &[("Finding", theme.title())], &[(&notes, theme.muted())]);
    if inner.is_empty() {
        return;
    }
    let padded = Rect::new(inner.x + 1, inner.y, inner.width.saturating_sub(2), inner.height);
    let shown = usize::from(padded.height);
    let scroll = open.scroll.record(doc.len().saturating_sub(shown), shown);
    doc.render(buf, padded, scroll);
    scroll_marks(buf, outer, scroll, shown, doc.len(), theme);
}

/// The banner under the tab bar: the most severe open finding, how many more, and
/// where to read them. Draws nothing and returns `false` while none is open.
pub(crate) fn banner(buf: &mut Buffer, row: Rect, store: &Store, theme: &Theme, overview_key: &str) -> bool {
    let open = store.findings().open();
    let Some(worst) = open.first() else { return false };
    let (glyph, style) = mark(worst.severity, theme);
    fill(buf, row, theme.base());
    let more = match open.len() {
        1 => String::new(),
        n => format!("  +{} more", n - 1),
    };
    let hint = format!("  {overview_key} Overview for evidence & fix");
    let hint_width = u16::try_from(hint.chars().count()).unwrap_or(0);
    let used = put_spans(
        buf,
        row.x + 1,
        row.y,
        row.width.saturating_sub(1),
        &[(glyph, style), (" ", style), (&worst.title, style), (&more, theme.muted())],
    );
    if row.width > used + hint_width + 2 {
        put(buf, row.right() - hint_width - 1, row.y, hint_width, &hint, theme.muted());
    }
    true
}

#[cfg(test)]
#[path = "findings_tests.rs"]
mod tests;
