//! The Interfaces tab as a component: its table, and the details of one interface.

use ratatui::Frame;
use ratatui::layout::Rect;

use super::details_keys;
use crate::action::Action;
use crate::component::{Component, Reply};
use crate::context::{Handle, Paint};
use crate::filter::{Filter, INTERFACE_FIELDS};
use crate::panes::{details, interfaces};
use crate::state::{Details, InterfacesState, Motion, Scroll, StatusLevel};

impl InterfacesState {
    /// The kernel index of the selected interface.
    fn selected(&self, ctx: &Handle<'_>) -> Option<u32> {
        let rows = interfaces::ordered(ctx.store, self);
        rows.get(self.table.cursor.min(rows.len().saturating_sub(1))).map(|entry| entry.info.index)
    }

    /// Put the cursor back on interface `index` if it shows, else on the first row.
    fn reselect(&mut self, ctx: &Handle<'_>, index: Option<u32>) {
        let rows = interfaces::ordered(ctx.store, self);
        let cursor = index.and_then(|index| rows.iter().position(|e| e.info.index == index)).unwrap_or(0);
        let len = rows.len();
        self.table.place(cursor, len);
    }
}

impl Component for InterfacesState {
    fn handle(&mut self, action: Action, ctx: &mut Handle<'_>) -> Reply {
        if let Some(reply) = details_keys(&mut self.details, action, |open| &mut open.scroll) {
            return reply;
        }
        if let Some(motion) = Motion::of(action, self.table.page()) {
            let len = interfaces::ordered(ctx.store, self).len();
            self.table.move_by(motion, len);
            return Reply::Handled;
        }
        match action {
            Action::CycleSort | Action::ReverseSort => {
                let selected = self.selected(ctx);
                if action == Action::ReverseSort {
                    self.table.reverse();
                } else {
                    self.table.cycle_sort();
                }
                self.reselect(ctx, selected);
            }
            Action::Open => match self.selected(ctx) {
                Some(index) => self.details = Some(Details { index, scroll: Scroll::default() }),
                None => ctx.hint("no interface selected", StatusLevel::Info),
            },
            _ => return Reply::Ignored,
        }
        Reply::Handled
    }

    fn render(&mut self, frame: &mut Frame, area: Rect, ctx: &Paint<'_>) {
        match self.details.as_mut() {
            Some(open) => details::render(frame, area, open, ctx),
            None => interfaces::render(frame, area, self, ctx),
        }
    }

    fn filter(&self) -> Option<&str> {
        self.details.is_none().then(|| self.table.filter.text())
    }

    fn set_filter(&mut self, text: &str, ctx: &mut Handle<'_>) -> bool {
        let selected = self.selected(ctx);
        self.table.filter = Filter::parse(text, INTERFACE_FIELDS);
        self.reselect(ctx, selected);
        true
    }
}
