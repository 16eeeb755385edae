//! The Events tab: the timeline newest first, filterable by source, kind and subject,
//! following the newest entry until the user scrolls away.

use netlens_collectors::Store;
use netlens_collectors::model::TimelineEntry;
use ratatui::Frame;
use ratatui::layout::Rect;

use crate::context::Paint;
use crate::filter::{Field, Filter, contains};
use crate::state::EventsState;
use crate::widgets::event_list::{self, FULL};
use crate::widgets::marks::{note, position};
use crate::widgets::pane::pane;
use crate::widgets::table::scroll;

/// Whether an entry passes the filter: `source:`, `kind:`, `subject:`, or free words
/// matching any of them or the sentence.
pub(crate) fn matches(filter: &Filter, entry: &TimelineEntry) -> bool {
    filter.matches(|field, needle| match field {
        Some(Field::Source) => contains(entry.source.as_str(), needle),
        Some(Field::Kind) => contains(entry.kind.as_str(), needle),
        Some(Field::Subject) => contains(&entry.subject, needle),
        _ => {
            contains(&entry.detail, needle)
                || contains(&entry.subject, needle)
                || contains(entry.kind.as_str(), needle)
                || contains(entry.source.as_str(), needle)
        }
    })
}

/// Entries the filter lets through.
pub(crate) fn filtered_len(store: &Store, state: &EventsState) -> usize {
    let timeline = store.timeline();
    if state.table.filter.is_empty() {
        timeline.len()
    } else {
        timeline.iter().filter(|entry| matches(&state.table.filter, entry)).count()
    }
}

/// Entries the filter lets through that arrived after the cursor was placed.
pub(crate) fn arrived_since_anchor(store: &Store, state: &EventsState) -> usize {
    let timeline = store.timeline();
    let new = timeline.appended().saturating_sub(state.anchor);
    let new = usize::try_from(new).unwrap_or(usize::MAX).min(timeline.len());
    if state.table.filter.is_empty() {
        new
    } else {
        (0..new)
            .filter_map(|i| timeline.from_newest(i))
            .filter(|entry| matches(&state.table.filter, entry))
            .count()
    }
}

/// Draw the tab.
pub(crate) fn render(frame: &mut Frame, area: Rect, state: &mut EventsState, ctx: &Paint<'_>) {
    let Paint { store, theme, now, .. } = *ctx;
    let timeline = store.timeline();
    let total = filtered_len(store, state);
    let buf = frame.buffer_mut();

    let held = timeline.len().to_string();
    let bursts = timeline.coalesced_bursts();
    let bursts_text = format!(" · {bursts} burst{} coalesced", if bursts == 1 { "" } else { "s" });
    let shown = format!("  {total} of {}", timeline.len());
    let mut title = vec![("Events", theme.title()), (" ", theme.muted()), (held.as_str(), theme.muted())];
    if state.table.filter.is_empty() {
        title.push((bursts_text.as_str(), if bursts > 0 { theme.info() } else { theme.muted() }));
    } else {
        title.truncate(1);
        title.extend([
            ("  filter ", theme.muted()),
            (state.table.filter.text(), theme.accent()),
            (&shown, theme.muted()),
        ]);
    }
    let notes: &[(&str, _)] = if state.follow {
        &[("● following newest", theme.ok())]
    } else {
        &[("follow off", theme.warn()), (" · f resumes", theme.muted())]
    };
    let inner = pane(buf, area, theme.border(), &title, notes);
    if inner.is_empty() {
        return;
    }
    if total == 0 {
        let body = Rect::new(inner.x, inner.y + 1, inner.width, inner.height.saturating_sub(1));
        let text = if state.table.filter.is_empty() {
            "no events yet".to_owned()
        } else {
            format!("no event matches \"{}\" · esc clears the filter", state.table.filter.text())
        };
        event_list::render(buf, inner, theme, now, &FULL, true, std::iter::empty(), None);
        note(buf, body, &text, theme.muted());
        return;
    }
    let visible = usize::from(inner.height.saturating_sub(1));
    let cursor = state.table.cursor.min(total - 1);
    let offset = scroll(state.table.offset, cursor, visible, total);
    state.table.record(offset, visible);
    let selected = Some(cursor - offset);
    if state.table.filter.is_empty() {
        let entries = (offset..total).map_while(|i| timeline.from_newest(i)).take(visible);
        event_list::render(buf, inner, theme, now, &FULL, true, entries, selected);
    } else {
        let entries = timeline
            .iter()
            .rev()
            .filter(|entry| matches(&state.table.filter, entry))
            .skip(offset)
            .take(visible);
        event_list::render(buf, inner, theme, now, &FULL, true, entries, selected);
    }
    position(buf, area, cursor, total, theme.muted());
}
