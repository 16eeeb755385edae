//! The Events tab as a component: the timeline newest first, following the newest
//! entry until the user scrolls away; Enter shows the selected entry whole.

use netlens_collectors::Store;
use ratatui::Frame;
use ratatui::layout::Rect;

use super::details_keys;
use crate::action::Action;
use crate::component::{Component, Reply};
use crate::context::{Handle, Paint};
use crate::filter::{EVENT_FIELDS, Filter};
use crate::panes::{event_details, events};
use crate::state::{EventDetails, EventsState, Motion, Scroll, StatusLevel};

impl EventsState {
    /// `f`: follow the newest entry, or stop.
    pub(crate) fn toggle_follow(&mut self) {
        self.follow = !self.follow;
        if self.follow {
            self.table.rewind();
        }
    }

    /// The selected entry, if any.
    pub(crate) fn selected_entry<'s>(
        &self,
        store: &'s Store,
    ) -> Option<&'s netlens_collectors::model::TimelineEntry> {
        crate::panes::event_details::entry(store, self.selected_serial(store)?)
    }

    /// The serial (place in the order of arrival) of the selected entry, if any.
    fn selected_serial(&self, store: &Store) -> Option<u64> {
        let timeline = store.timeline();
        let cursor = self.table.cursor;
        // Places back from the newest, among all entries.
        let back = if self.table.filter.is_empty() {
            (cursor < timeline.len()).then_some(cursor)
        } else {
            timeline
                .iter()
                .rev()
                .enumerate()
                .filter(|(_, entry)| events::matches(&self.table.filter, entry))
                .nth(cursor)
                .map(|(back, _)| back)
        }?;
        timeline.appended().checked_sub(back as u64 + 1)
    }
}

impl Component for EventsState {
    fn handle(&mut self, action: Action, ctx: &mut Handle<'_>) -> Reply {
        if let Some(reply) = details_keys(&mut self.details, action, |open| &mut open.scroll) {
            return reply;
        }
        if action == Action::Open {
            match self.selected_serial(ctx.store) {
                Some(serial) => self.details = Some(EventDetails { serial, scroll: Scroll::default() }),
                None => ctx.hint("no event selected", StatusLevel::Info),
            }
            return Reply::Handled;
        }
        if let Some(motion) = Motion::of(action, self.table.page()) {
            let len = events::filtered_len(ctx.store, self);
            self.table.move_by(motion, len);
            // Scrolling away from the newest entry stops following it.
            if self.table.cursor > 0 {
                self.follow = false;
            }
            return Reply::Handled;
        }
        match action {
            Action::CycleSort | Action::ReverseSort => {
                ctx.hint("the timeline is always newest first", StatusLevel::Info);
                Reply::Handled
            }
            _ => Reply::Ignored,
        }
    }

    fn render(&mut self, frame: &mut Frame, area: Rect, ctx: &Paint<'_>) {
        self.settle(ctx.store);
        events::render(frame, area, self, ctx);
        if let Some(open) = self.details.as_mut() {
            event_details::render(frame, area, open, ctx);
        }
    }

    /// Keep the cursor on the entry it was on while newer entries arrive (or on the
    /// newest one when following), and remember how far the timeline had got.
    fn settle(&mut self, store: &Store) {
        if self.follow {
            self.table.rewind();
        } else {
            let arrived = events::arrived_since_anchor(store, self);
            self.table.cursor += arrived;
            self.table.offset += arrived;
        }
        self.anchor = store.timeline().appended();
    }

    fn filter(&self) -> Option<&str> {
        Some(self.table.filter.text())
    }

    fn set_filter(&mut self, text: &str, _ctx: &mut Handle<'_>) -> bool {
        self.table.filter = Filter::parse(text, EVENT_FIELDS);
        self.table.rewind();
        true
    }
}
