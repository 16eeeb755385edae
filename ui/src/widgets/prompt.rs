//! The one-line prompt: what it does (its label), what is being typed, a cursor, and
//! how to write it and finish (beside, or on the line above when it does not fit) — or,
//! when the text cannot be applied, what is wrong with it: the offending part
//! underlined in the error colour and the reason beside it (or on the line above).
//! A previous entry the prompt opened with shows selected: typing replaces it.

use ratatui::buffer::Buffer;
use ratatui::layout::{Position, Rect};
use ratatui::style::{Modifier, Style};

use super::text::{fill, put, put_spans, spans_width, width};
use crate::theme::Theme;

/// Why the typed text cannot be applied: characters `start..end` and the reason.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Problem<'a> {
    /// First offending character.
    pub start: usize,
    /// One past the last.
    pub end: usize,
    /// What is wrong and how to write it instead.
    pub message: &'a str,
}

/// What the prompt line shows.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Entry<'a> {
    /// What the prompt does: `add target`, `filter Events`.
    pub label: &'a str,
    /// The text typed so far.
    pub text: &'a str,
    /// How to write it and finish.
    pub hint: &'a str,
    /// What is wrong with the text, if anything.
    pub problem: Option<Problem<'a>>,
    /// The text is a previous entry, selected: the first key typed replaces it.
    pub selected: bool,
}

/// Draw the prompt on the last row of `area` (and the hint or a problem's reason on
/// the row above when it does not fit beside the text); returns where the cursor is.
pub(crate) fn render(buf: &mut Buffer, area: Rect, theme: &Theme, entry: &Entry<'_>) -> Position {
    let Entry { label, text, hint, problem, selected } = *entry;
    let line = Rect::new(area.x, area.bottom().saturating_sub(1), area.width, area.height.min(1));
    fill(buf, line, theme.overlay());
    let label_spans = [(" ", theme.title()), (label, theme.title()), (" › ", theme.muted())];
    let label_width = put_spans(buf, line.x, line.y, line.width, &label_spans);
    let mut room = line.width.saturating_sub(label_width);
    let reason = problem.map(|p| format!("✗ {}", p.message));
    let text_width = width(text) as u16 + 1;
    match &reason {
        Some(reason) if text_width + 2 + width(reason) as u16 <= room => {
            let x = line.x + label_width + text_width + 1;
            put(buf, x, line.y, line.right().saturating_sub(x), reason, theme.overlay().patch(theme.error()));
            room = text_width;
        }
        Some(reason) if area.height >= 2 => {
            let above = Rect::new(line.x, line.y - 1, line.width, 1);
            fill(buf, above, theme.overlay());
            let spans = [(" ", theme.error()), (reason.as_str(), theme.error())];
            put_spans(buf, above.x, above.y, above.width, &spans);
        }
        Some(_) => {}
        None => {
            let hint_spans = [(hint, theme.muted()), (" ", theme.muted())];
            let hint_width = spans_width(&hint_spans) as u16;
            if room > hint_width + 12 {
                put_spans(buf, line.right() - hint_width, line.y, hint_width, &hint_spans);
                room -= hint_width + 1;
            } else if area.height >= 2 {
                let above = Rect::new(line.x, line.y - 1, line.width, 1);
                fill(buf, above, theme.overlay());
                put_spans(buf, above.x, above.y, above.width, &[(" ", theme.muted()), (hint, theme.muted())]);
            }
        }
    }
    // Long input scrolls: show its end, where the typing happens.
    let text_room = usize::from(room.saturating_sub(1));
    let mut skipped = 0;
    let mut shown = text;
    while width(shown) > text_room {
        let mut chars = shown.chars();
        chars.next();
        shown = chars.as_str();
        skipped += 1;
    }
    let x = line.x + label_width;
    let plain = if selected { theme.selection() } else { theme.overlay().patch(theme.text()) };
    let used = match problem {
        Some(problem) => {
            let bad = theme.overlay().patch(theme.error()).add_modifier(Modifier::UNDERLINED);
            let start = problem.start.saturating_sub(skipped);
            let end = problem.end.saturating_sub(skipped).max(start);
            let cut = |at: usize| shown.char_indices().nth(at).map_or(shown.len(), |(i, _)| i);
            let (a, b) = (cut(start), cut(end));
            let spans = [(&shown[..a], plain), (&shown[a..b], bad), (&shown[b..], plain)];
            put_spans(buf, x, line.y, room, &spans)
        }
        None => put(buf, x, line.y, room, shown, plain),
    };
    let cursor = Position::new((x + used).min(line.right().saturating_sub(1)), line.y);
    if line.width > 0 && line.height > 0 && buf.area.contains(cursor) {
        buf[cursor].set_style(Style::new().add_modifier(Modifier::REVERSED));
    }
    cursor
}
