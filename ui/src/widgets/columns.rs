//! The body of a details view: one column, or two with a rule between them on a wide
//! screen, scrolled together.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;

use super::marks::scroll_marks;
use super::text::Doc;
use crate::theme::Theme;

/// At this inner width and above the view splits into two columns.
const TWO_COLUMNS: u16 = 110;
/// Where the columns go inside the pane's inner area: one, or two with a rule
/// between them.
pub(crate) fn split(inner: Rect) -> (Rect, Option<Rect>) {
    let padded = Rect::new(inner.x + 1, inner.y, inner.width.saturating_sub(2), inner.height);
    if inner.width < TWO_COLUMNS {
        return (padded, None);
    }
    let left_width = padded.width / 2;
    let left = Rect::new(padded.x, padded.y, left_width.saturating_sub(2), padded.height);
    let right = Rect::new(padded.x + left_width + 1, padded.y, padded.width - left_width - 1, padded.height);
    (left, Some(right))
}
/// Draw a details body: the main column, and the side column after a divider when
/// there is room, scrolled together by `scroll` (clamped), with ▲/▼ marks on the
/// pane's border when lines are hidden. Returns the lines hidden below the view when
/// it is at the top, and the lines it shows, for scrolling to stop at the end.
pub(crate) fn render_columns(
    buf: &mut Buffer,
    area: Rect,
    inner: Rect,
    (left, right): (Rect, Option<Rect>),
    (main, side): (Doc, Option<Doc>),
    scroll: usize,
    theme: &Theme,
) -> (usize, usize) {
    let tallest = main.len().max(side.as_ref().map_or(0, Doc::len));
    let scroll = scroll.min(tallest.saturating_sub(usize::from(inner.height)));
    main.render(buf, left, scroll);
    if let (Some(right), Some(side)) = (right, side) {
        for y in right.top()..right.bottom() {
            buf[(right.x - 2, y)].set_char('│').set_style(theme.border());
        }
        side.render(buf, right, scroll);
    }
    let shown = usize::from(inner.height);
    scroll_marks(buf, area, scroll, shown, tallest, theme);
    (tallest.saturating_sub(shown), shown)
}
