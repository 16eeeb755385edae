//! One file per pane. Each `render` is pure: it reads the store, the UI state, the
//! theme and the clock, and writes only into the area it is given.

pub(crate) mod connection_details;
pub(crate) mod connections;
pub(crate) mod details;
pub(crate) mod dns;
pub(crate) mod dns_trace;
pub(crate) mod events;
pub(crate) mod help;
pub(crate) mod interfaces;
pub(crate) mod overview;
pub(crate) mod path_details;
pub(crate) mod paths;
pub(crate) mod route_lookup;
pub(crate) mod routes;

use netlens_collectors::Store;
use netlens_collectors::model::{SourceId, SourceState};
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::Style;

use crate::theme::Theme;
use crate::widgets::text::{put, put_spans, width};

/// When a pane's source runs below full fidelity (a fallback, a missing privilege, a
/// failure), say so on the pane's first line, so nothing on it pretends; returns the
/// area left below. A healthy or not yet started source takes no room.
pub(crate) fn source_banner(
    buf: &mut Buffer,
    inner: Rect,
    store: &Store,
    source: SourceId,
    theme: &Theme,
) -> Rect {
    let Some(status) =
        store.source(source).filter(|s| matches!(s.status, SourceState::Degraded | SourceState::Failed))
    else {
        return inner;
    };
    if inner.height < 3 || inner.width < 8 {
        return inner;
    }
    let style = if status.status == SourceState::Failed { theme.error() } else { theme.warn() };
    let what = format!("{} source {}: ", source.as_str(), status.status.as_str());
    put_spans(
        buf,
        inner.x + 1,
        inner.y,
        inner.width - 1,
        &[("⚠ ", style), (&what, style), (&status.detail, theme.muted())],
    );
    Rect::new(inner.x, inner.y + 1, inner.width, inner.height - 1)
}

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
