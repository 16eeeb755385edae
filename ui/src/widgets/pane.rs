//! A pane: a rounded border with a title on the left and notes on the right of its
//! top edge. Titles are written here rather than through `Block` so the right-hand
//! notes give way to the title on narrow screens instead of overlapping it.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::Style;

use super::text::{put, put_spans, spans_width};
use crate::theme::Theme;

/// Draw the border and titles of a pane over `area`; returns the area inside.
pub(crate) fn pane(
    buf: &mut Buffer,
    area: Rect,
    border: Style,
    title: &[(&str, Style)],
    notes: &[(&str, Style)],
) -> Rect {
    let area = buf.area.intersection(area);
    if area.width < 2 || area.height < 2 {
        return Rect::new(area.x, area.y, 0, 0);
    }
    let (left, right) = (area.left(), area.right() - 1);
    let (top, bottom) = (area.top(), area.bottom() - 1);
    for x in left + 1..right {
        buf[(x, top)].set_char('─').set_style(border);
        buf[(x, bottom)].set_char('─').set_style(border);
    }
    for y in top + 1..bottom {
        buf[(left, y)].set_char('│').set_style(border);
        buf[(right, y)].set_char('│').set_style(border);
    }
    buf[(left, top)].set_char('╭').set_style(border);
    buf[(right, top)].set_char('╮').set_style(border);
    buf[(left, bottom)].set_char('╰').set_style(border);
    buf[(right, bottom)].set_char('╯').set_style(border);

    // " title " from the second column, " notes " ending one column before the corner.
    let room = area.width.saturating_sub(4);
    let mut used = 0;
    if !title.is_empty() && room > 2 {
        put(buf, left + 1, top, 1, " ", border);
        used = put_spans(buf, left + 2, top, room - 1, title);
        put(buf, left + 2 + used, top, 1, " ", border);
        used += 2;
    }
    let notes_width = spans_width(notes) as u16;
    if notes_width > 0 && used + notes_width + 3 <= room {
        let x = right - 2 - notes_width;
        put(buf, x - 1, top, 1, " ", border);
        put_spans(buf, x, top, notes_width, notes);
        put(buf, x + notes_width, top, 1, " ", border);
    }
    Rect::new(area.x + 1, area.y + 1, area.width - 2, area.height - 2)
}

/// While a table is filtered, its title's counts give way to the filter and what it
/// lets through: `Paths  filter TEXT  3 of 6`. `title` keeps its first span (the name);
/// an empty `filter` leaves it as it is.
pub(crate) fn filter_title<'a>(
    title: &mut Vec<(&'a str, Style)>,
    filter: &'a str,
    shown: &'a str,
    theme: &Theme,
) {
    if filter.is_empty() {
        return;
    }
    title.truncate(1);
    title.extend([
        ("  filter ", theme.muted()),
        (filter, theme.accent()),
        ("  ", theme.muted()),
        (shown, theme.muted()),
    ]);
}
