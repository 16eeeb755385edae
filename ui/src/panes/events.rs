//! The Events tab: the timeline newest first, filterable by source, kind and subject,
//! following the newest entry until the user scrolls away.

use netlens_collectors::Store;
use netlens_collectors::model::{TimelineEntry, Timestamp};
use ratatui::Frame;
use ratatui::layout::Rect;

use super::{note, position};
use crate::filter::{Field, Filter, contains};
use crate::state::{EventsState, ListState, UiState};
use crate::theme::Theme;
use crate::widgets::event_list::{self, FULL};
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
    if state.filter.is_empty() {
        timeline.len()
    } else {
        timeline.iter().filter(|entry| matches(&state.filter, entry)).count()
    }
}

/// Entries the filter lets through that arrived after the cursor was placed.
pub(crate) fn arrived_since_anchor(store: &Store, state: &EventsState) -> usize {
    let timeline = store.timeline();
    let new = timeline.appended().saturating_sub(state.anchor);
    let new = usize::try_from(new).unwrap_or(usize::MAX).min(timeline.len());
    if state.filter.is_empty() {
        new
    } else {
        (0..new).filter_map(|i| timeline.from_newest(i)).filter(|entry| matches(&state.filter, entry)).count()
    }
}

/// The cursor and offset as they stand now: on the newest entry when following,
/// otherwise still on the same entry however many arrived since.
pub(crate) fn current(ui: &UiState, store: &Store) -> ListState {
    if ui.follow {
        return ListState::default();
    }
    let arrived = arrived_since_anchor(store, &ui.events);
    ListState { cursor: ui.events.list.cursor + arrived, offset: ui.events.list.offset + arrived }
}

/// Rows the list shows on a terminal `height` rows tall.
pub(crate) const fn visible_rows(height: u16) -> usize {
    // Tab bar, status bar, two borders, the heading.
    height.saturating_sub(5) as usize
}

/// Draw the tab.
pub(crate) fn render(
    frame: &mut Frame,
    area: Rect,
    store: &Store,
    ui: &UiState,
    theme: &Theme,
    now: Timestamp,
) {
    let state = &ui.events;
    let timeline = store.timeline();
    let total = filtered_len(store, state);
    let buf = frame.buffer_mut();

    let held = timeline.len().to_string();
    let bursts = timeline.coalesced_bursts();
    let bursts_text = format!(" · {bursts} burst{} coalesced", if bursts == 1 { "" } else { "s" });
    let shown = format!("  {total} of {}", timeline.len());
    let mut title = vec![("Events", theme.title()), (" ", theme.muted()), (held.as_str(), theme.muted())];
    if state.filter.is_empty() {
        title.push((bursts_text.as_str(), if bursts > 0 { theme.info() } else { theme.muted() }));
    } else {
        title.truncate(1);
        title.extend([
            ("  filter ", theme.muted()),
            (state.filter.text(), theme.accent()),
            (&shown, theme.muted()),
        ]);
    }
    let notes: &[(&str, _)] = if ui.follow {
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
        let text = if state.filter.is_empty() {
            "no events yet".to_owned()
        } else {
            format!("no event matches \"{}\" · esc clears the filter", state.filter.text())
        };
        event_list::render(buf, inner, theme, now, &FULL, true, std::iter::empty(), None);
        note(buf, body, &text, theme.muted());
        return;
    }
    let visible = usize::from(inner.height.saturating_sub(1));
    let list = current(ui, store);
    let cursor = list.cursor.min(total - 1);
    let offset = scroll(list.offset, cursor, visible, total);
    let selected = Some(cursor - offset);
    if state.filter.is_empty() {
        let entries = (offset..total).map_while(|i| timeline.from_newest(i)).take(visible);
        event_list::render(buf, inner, theme, now, &FULL, true, entries, selected);
    } else {
        let entries =
            timeline.iter().rev().filter(|entry| matches(&state.filter, entry)).skip(offset).take(visible);
        event_list::render(buf, inner, theme, now, &FULL, true, entries, selected);
    }
    position(buf, area, cursor, total, theme.muted());
}
