//! Reusable drawing pieces. They write straight into the frame's buffer, draw only
//! what is visible, and never allocate per cell.

pub(crate) mod activity;
pub(crate) mod banner;
pub(crate) mod chart;
pub(crate) mod columns;
pub(crate) mod event_list;
pub(crate) mod marks;
pub(crate) mod pane;
pub(crate) mod prompt;
pub(crate) mod sparkline;
pub(crate) mod status_band;
pub(crate) mod table;
pub(crate) mod text;
pub(crate) mod waterfall;

use ratatui::layout::Rect;

/// The top `height` rows of `area`, and the rest.
pub(crate) fn split_top(area: Rect, height: u16) -> (Rect, Rect) {
    let height = height.min(area.height);
    (Rect { height, ..area }, Rect { y: area.y + height, height: area.height - height, ..area })
}

/// The bottom `height` rows of `area`, and the rest above them (returned first).
pub(crate) fn split_bottom(area: Rect, height: u16) -> (Rect, Rect) {
    let height = height.min(area.height);
    let top = area.height - height;
    (Rect { height: top, ..area }, Rect { y: area.y + top, height, ..area })
}

/// The left `width` columns of `area`, and the rest.
pub(crate) fn split_left(area: Rect, width: u16) -> (Rect, Rect) {
    let width = width.min(area.width);
    (Rect { width, ..area }, Rect { x: area.x + width, width: area.width - width, ..area })
}
