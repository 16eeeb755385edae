//! Small marks on a pane: a centred note, ▲/▼ when lines are hidden, and the
//! `row/total` position on the bottom border.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::Style;

use super::text::{put, width};
use crate::theme::Theme;

/// A note centred in `area`, for empty tables and vanished interfaces.
pub(crate) fn note(buf: &mut Buffer, area: Rect, text: &str, style: Style) {
    if area.is_empty() {
        return;
    }
    let w = (width(text) as u16).min(area.width);
    let x = area.x + (area.width - w) / 2;
    let y = area.y + area.height.saturating_sub(1) / 2;
    put(buf, x, y, w, text, style);
}

/// ▲/▼ on the right border of `pane` when lines are hidden above or below.
pub(crate) fn scroll_marks(
    buf: &mut Buffer,
    pane: Rect,
    offset: usize,
    visible: usize,
    total: usize,
    theme: &Theme,
) {
    if pane.width < 2 || pane.height < 4 {
        return;
    }
    let x = pane.right() - 1;
    if offset > 0 {
        buf[(x, pane.y + 1)].set_char('▲').set_style(theme.accent());
    }
    if offset + visible < total {
        buf[(x, pane.bottom() - 2)].set_char('▼').set_style(theme.accent());
    }
}

/// `row/total` on the bottom border of a pane, so a long list says where you are.
pub(crate) fn position(buf: &mut Buffer, pane: Rect, row: usize, total: usize, style: Style) {
    if pane.height < 2 || total == 0 {
        return;
    }
    let text = format!(" {}/{} ", row + 1, total);
    let w = width(&text) as u16;
    if pane.width < w + 4 {
        return;
    }
    put(buf, pane.right() - 2 - w, pane.bottom() - 1, w, &text, style);
}
