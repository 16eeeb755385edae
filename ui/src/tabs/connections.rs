//! The Connections tab as a component: the table (flat or grouped by process) whose
//! selection stays on the same socket while rows move, and the details of one
//! connection.

use ratatui::Frame;
use ratatui::layout::Rect;

use super::details_keys;
use crate::action::Action;
use crate::component::{Component, Reply};
use crate::conn_filter::ConnFilter;
use crate::context::{Handle, Paint};
use crate::panes::connection_model::{Model, placement};
use crate::panes::{connection_details, connections};
use crate::state::{ConnectionDetails, ConnectionsState, Motion, Scroll, StatusLevel};

impl ConnectionsState {
    /// Put the cursor on row `cursor` of `model`, scrolled as little as keeps it in
    /// view, and select the connection there.
    fn place(&mut self, model: &mut Model<'_>, cursor: usize) {
        if let Some(visible) = self.table.visible() {
            self.table.offset = model.offset_for(cursor, self.table.offset, visible);
        }
        self.table.cursor = cursor;
        self.selected = model.row_at(cursor).map(|entry| entry.socket.cookie);
    }

    /// Put the cursor back on the selected connection after the rows changed (filter,
    /// sort, grouping), or on the first row if the selection no longer shows.
    fn settle_selection(&mut self, ctx: &Handle<'_>) {
        let mut model = Model::build(ctx.store, self, ctx.now());
        let kept = self.selected.and_then(|cookie| model.rank_of(cookie));
        self.place(&mut model, kept.unwrap_or(0));
    }
}

impl Component for ConnectionsState {
    fn handle(&mut self, action: Action, ctx: &mut Handle<'_>) -> Reply {
        if let Some(reply) = details_keys(&mut self.details, action, |open| &mut open.scroll) {
            return reply;
        }
        if let Some(motion) = Motion::of(action, self.table.page()) {
            let mut model = Model::build(ctx.store, self, ctx.now());
            let (cursor, offset) = placement(&model, self, self.table.visible());
            self.table.offset = offset;
            let cursor = motion.apply(cursor, model.rows());
            self.place(&mut model, cursor);
            return Reply::Handled;
        }
        match action {
            Action::CycleSort => self.table.cycle_sort(),
            Action::ReverseSort => self.table.reverse(),
            // `g` groups by process here; elsewhere it means the first row.
            Action::ToggleGroup => self.grouped = !self.grouped,
            Action::ToggleClosed => self.show_closed = !self.show_closed,
            Action::Open => {
                let mut model = Model::build(ctx.store, self, ctx.now());
                let (cursor, _) = placement(&model, self, self.table.visible());
                match model.row_at(cursor) {
                    Some(entry) => {
                        let cookie = entry.socket.cookie;
                        self.selected = Some(cookie);
                        self.table.cursor = cursor;
                        self.details = Some(ConnectionDetails { cookie, scroll: Scroll::default() });
                    }
                    None => ctx.hint("no connection selected", StatusLevel::Info),
                }
                return Reply::Handled;
            }
            _ => return Reply::Ignored,
        }
        self.settle_selection(ctx);
        Reply::Handled
    }

    fn render(&mut self, frame: &mut Frame, area: Rect, ctx: &Paint<'_>) {
        match self.details.as_mut() {
            Some(open) => connection_details::render(frame, area, open, ctx),
            None => connections::render(frame, area, self, ctx),
        }
    }

    fn filter(&self) -> Option<&str> {
        self.details.is_none().then(|| self.table.filter.text())
    }

    /// A malformed expression is not applied: the table keeps the filter it had.
    fn set_filter(&mut self, text: &str, ctx: &mut Handle<'_>) -> bool {
        let Ok(filter) = ConnFilter::parse(text) else { return false };
        self.table.filter = filter;
        self.settle_selection(ctx);
        true
    }
}
