//! One timeline entry shown whole (Enter on the Events tab): its full sentence,
//! wrapped rather than cut, with when it happened, which source saw it, its kind, its
//! subject and how many identical entries were folded into it. Esc closes.

use netlens_collectors::Store;
use netlens_collectors::model::TimelineEntry;
use ratatui::Frame;
use ratatui::layout::Rect;

use crate::context::Paint;
use crate::format::{Ago, Clock};
use crate::state::EventDetails;
use crate::theme::Theme;
use crate::widgets::marks::scroll_marks;
use crate::widgets::pane::pane;
use crate::widgets::text::{Doc, fill, width, wrap};

/// Widest the overlay gets.
const MAX_WIDTH: u16 = 100;
/// Label column width.
const LABEL: usize = 9;

/// The entry `serial` places after the first ever appended, while the timeline still
/// holds it.
pub(crate) fn entry(store: &Store, serial: u64) -> Option<&TimelineEntry> {
    let timeline = store.timeline();
    let back = timeline.appended().checked_sub(serial + 1)?;
    timeline.from_newest(usize::try_from(back).ok()?)
}

fn lines(entry: &TimelineEntry, ctx: &Paint<'_>, width: u16) -> Doc {
    let Paint { theme, now, .. } = *ctx;
    let mut doc = Doc::default();
    let label = |text: &str| (format!("{text:<LABEL$}"), theme.muted());
    let room = usize::from(width).saturating_sub(LABEL).max(10);
    let when = format!("{} UTC · {}", Clock(entry.at), Ago { at: entry.at, now });
    doc.line([label("time"), (when, theme.text())]);
    doc.line([label("source"), (entry.source.as_str().to_owned(), theme.accent())]);
    doc.line([label("kind"), (entry.kind.as_str().to_owned(), theme.accent())]);
    for (i, part) in wrap(&entry.subject, room).into_iter().enumerate() {
        doc.line([label(if i == 0 { "subject" } else { "" }), (part, theme.text())]);
    }
    if entry.count > 1 {
        let folded = format!("{} identical entries folded into this one", entry.count);
        doc.line([label("repeats"), (folded, theme.info())]);
    }
    doc.blank();
    // The point of the overlay: the sentence the list cuts, whole.
    for part in wrap_whole(&entry.detail, usize::from(width).max(10)) {
        doc.line([(part, theme.text())]);
    }
    doc
}

/// Wrap at spaces, and split a word longer than a line (a path, an address list)
/// across lines instead of cutting it.
pub(crate) fn wrap_whole(text: &str, max: usize) -> Vec<String> {
    let mut lines = Vec::new();
    for line in wrap(text, max) {
        let mut rest = line.as_str();
        while width(rest) > max {
            let cut = rest.char_indices().nth(max).map_or(rest.len(), |(at, _)| at);
            lines.push(rest[..cut].to_owned());
            rest = &rest[cut..];
        }
        lines.push(rest.to_owned());
    }
    lines
}

fn gone(theme: &Theme) -> Doc {
    let mut doc = Doc::default();
    doc.line([("this entry has left the timeline (it keeps the newest)", theme.muted())]);
    doc
}

/// Draw the overlay centred over `body`, recording how far it can scroll.
pub(crate) fn render(frame: &mut Frame, body: Rect, open: &mut EventDetails, ctx: &Paint<'_>) {
    let Paint { store, theme, keys, .. } = *ctx;
    let width = body.width.min(MAX_WIDTH);
    let doc = match entry(store, open.serial) {
        Some(entry) => lines(entry, ctx, width.saturating_sub(4)),
        None => gone(theme),
    };
    let height = (doc.len() as u16 + 2).min(body.height);
    let outer =
        Rect::new(body.x + (body.width - width) / 2, body.y + (body.height - height) / 2, width, height);
    let buf = frame.buffer_mut();
    fill(buf, outer, theme.overlay());
    let close = keys.of("close").unwrap_or("esc");
    let notes = format!("{close} closes");
    let inner =
        pane(buf, outer, theme.border_focused(), &[("Event", theme.title())], &[(&notes, theme.muted())]);
    if inner.is_empty() {
        return;
    }
    let padded = Rect::new(inner.x + 1, inner.y, inner.width.saturating_sub(2), inner.height);
    let shown = usize::from(padded.height);
    let scroll = open.scroll.record(doc.len().saturating_sub(shown), shown);
    doc.render(buf, padded, scroll);
    scroll_marks(buf, outer, scroll, shown, doc.len(), theme);
}

#[cfg(test)]
mod tests {
    use netlens_collectors::fake;
    use ratatui::Terminal;
    use ratatui::backend::TestBackend;

    use super::*;
    use crate::context::Keys;
    use crate::state::{Scroll, UiState};

    #[test]
    fn the_whole_sentence_shows_wrapped() {
        let store = fake::store();
        let newest = store.timeline().appended() - 1;
        let text = entry(&store, newest).map(|e| e.detail.clone()).unwrap_or_default();
        assert!(!text.is_empty());
        assert_eq!(entry(&store, newest + 1), None, "not appended yet");
        let ui = UiState::new();
        let theme = Theme::default();
        let mut terminal = Terminal::new(TestBackend::new(40, 20)).unwrap_or_else(|e| panic!("{e}"));
        let mut open = EventDetails { serial: newest, scroll: Scroll::default() };
        terminal
            .draw(|frame| {
                let ctx = Paint { store: &store, theme: &theme, now: fake::NOW, keys: Keys(ui.bindings()) };
                render(frame, frame.area(), &mut open, &ctx);
            })
            .unwrap_or_else(|e| panic!("{e}"));
        let screen: String =
            terminal.backend().buffer().content().iter().map(ratatui::buffer::Cell::symbol).collect();
        // Every character of the sentence is on screen, however narrow: the rows
        // of the box, joined, hold it whole.
        let inside: String = screen.chars().filter(|c| !"│╭╮╰╯─ ".contains(*c)).collect();
        let wanted: String = text.chars().filter(|c| *c != ' ').collect();
        assert!(inside.contains(&wanted), "{text} missing from:\n{screen}");
    }
}
