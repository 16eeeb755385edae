//! The one-line filter prompt: what is being typed, a cursor, and how to finish.

use ratatui::buffer::Buffer;
use ratatui::layout::{Position, Rect};
use ratatui::style::{Modifier, Style};

use super::text::{fill, put, put_spans, spans_width, width};
use crate::theme::Theme;

/// Draw the prompt on the first row of `area`; returns where the cursor is.
pub(crate) fn render(
    buf: &mut Buffer,
    area: Rect,
    theme: &Theme,
    label: &str,
    text: &str,
    hint: &str,
) -> Position {
    let line = Rect::new(area.x, area.y, area.width, area.height.min(1));
    fill(buf, line, theme.overlay());
    let label_spans = [(" / ", theme.title()), (label, theme.muted()), (" ", theme.muted())];
    let label_width = put_spans(buf, line.x, line.y, line.width, &label_spans);
    let hint_spans = [(hint, theme.muted()), (" ", theme.muted())];
    let hint_width = spans_width(&hint_spans) as u16;
    let mut room = line.width.saturating_sub(label_width);
    if room > hint_width + 12 {
        put_spans(buf, line.right() - hint_width, line.y, hint_width, &hint_spans);
        room -= hint_width + 1;
    }
    // Long input scrolls: show its end, where the typing happens.
    let text_room = usize::from(room.saturating_sub(1));
    let mut shown = text;
    while width(shown) > text_room {
        let mut chars = shown.chars();
        chars.next();
        shown = chars.as_str();
    }
    let x = line.x + label_width;
    let used = put(buf, x, line.y, room, shown, theme.overlay().patch(theme.text()));
    let cursor = Position::new((x + used).min(line.right().saturating_sub(1)), line.y);
    if line.width > 0 && line.height > 0 {
        buf[cursor].set_style(Style::new().add_modifier(Modifier::REVERSED));
    }
    cursor
}
