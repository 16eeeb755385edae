//! The Events tab: an activity strip (events per time bucket over the window the
//! timeline covers), then the timeline newest first, filterable by source, kind and
//! subject, following the newest entry until the user scrolls away.

use netlens_collectors::Store;
use netlens_collectors::model::{TimelineEntry, Timestamp};
use ratatui::Frame;
use ratatui::layout::Rect;

use crate::context::Paint;
use crate::filter::{Field, Filter, contains};
use crate::state::EventsState;
use crate::widgets::activity;
use crate::widgets::event_list::{self, FULL};
use crate::widgets::marks::{note, position};
use crate::widgets::pane::{filter_title, pane};
use crate::widgets::split_top;
use crate::widgets::table::scroll;

/// The strip shows when the list keeps at least this many rows under it.
const STRIP_MIN_LIST: u16 = 6;

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
    // Under a filter, one pass finds what it lets through: the count, and the stamps
    // the activity strip counts (a second pass over 10,000 entries cost ~0.25 ms).
    let filter = &state.table.filter;
    let matched: Option<Vec<(Timestamp, u32)>> = (!filter.is_empty()).then(|| {
        timeline.iter().filter(|entry| matches(filter, entry)).map(|entry| (entry.at, entry.count)).collect()
    });
    let total = matched.as_ref().map_or(timeline.len(), Vec::len);
    let buf = frame.buffer_mut();

    let held = timeline.len().to_string();
    let bursts = timeline.coalesced_bursts();
    let bursts_text = format!(" · {bursts} burst{} coalesced", if bursts == 1 { "" } else { "s" });
    let shown = format!("{total} of {}", timeline.len());
    let mut title = vec![("Events", theme.title()), (" ", theme.muted()), (held.as_str(), theme.muted())];
    title.push((bursts_text.as_str(), if bursts > 0 { theme.info() } else { theme.muted() }));
    filter_title(&mut title, state.table.filter.text(), &shown, theme);
    let notes: &[(&str, _)] = if state.follow {
        &[("● following newest", theme.ok())]
    } else {
        &[("follow off", theme.warn()), (" · f resumes", theme.muted())]
    };
    let inner = pane(buf, area, theme.border(), &title, notes);
    if inner.is_empty() {
        return;
    }
    // The activity of what the filter lets through, on the first row when the list
    // keeps its rows.
    let inner = if inner.height > STRIP_MIN_LIST && total > 0 {
        let (strip, rest) = split_top(inner, 1);
        let oldest = match &matched {
            Some(matched) => matched.first().map(|(at, _)| *at),
            None => timeline.iter().next().map(|entry| entry.at),
        };
        let reach = activity::window(oldest, now);
        let (length_s, slots) = activity::layout(reach, activity::fitting(strip.width));
        let window_s = length_s * slots as f64;
        let counts = match &matched {
            Some(matched) => activity::buckets(matched.iter().rev().copied(), now, window_s, slots),
            None => activity::buckets(timeline.iter().rev().map(|e| (e.at, e.count)), now, window_s, slots),
        };
        let padded = Rect { x: strip.x + 1, width: strip.width.saturating_sub(1), ..strip };
        activity::render(buf, padded, &counts, window_s, theme);
        rest
    } else {
        inner
    };
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
