//! The Routes tab as a component: routes by table, policy rules and neighbours in
//! one table.

use ratatui::Frame;
use ratatui::layout::Rect;

use crate::action::Action;
use crate::component::{Component, Reply};
use crate::context::{Handle, Paint};
use crate::filter::{Filter, ROUTE_FIELDS};
use crate::panes::routes;
use crate::state::{Motion, RoutesState};

impl Component for RoutesState {
    fn handle(&mut self, action: Action, ctx: &mut Handle<'_>) -> Reply {
        if let Some(motion) = Motion::of(action, self.table.page()) {
            let model = routes::model(ctx.store, self);
            let table = &mut self.table;
            table.cursor = motion.apply(table.cursor, model.data.len());
            if let Some(visible) = table.visible() {
                table.offset = routes::offset_for(&model, table.cursor, table.offset, visible);
            }
            return Reply::Handled;
        }
        match action {
            Action::CycleSort => self.table.cycle_sort(),
            Action::ReverseSort => self.table.reverse(),
            _ => return Reply::Ignored,
        }
        self.table.rewind();
        Reply::Handled
    }

    fn render(&mut self, frame: &mut Frame, area: Rect, ctx: &Paint<'_>) {
        routes::render(frame, area, self, ctx);
    }

    fn filter(&self) -> Option<&str> {
        Some(self.table.filter.text())
    }

    fn set_filter(&mut self, text: &str, _ctx: &mut Handle<'_>) -> bool {
        self.table.filter = Filter::parse(text, ROUTE_FIELDS);
        self.table.rewind();
        true
    }
}
