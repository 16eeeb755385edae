//! The line a pane gives up to say its source runs below full fidelity.

use netlens_collectors::Store;
use netlens_collectors::model::{SourceId, SourceState};
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;

use super::text::put_spans;
use crate::theme::Theme;

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
