//! The Overview as a component: it takes no keys of its own.

use ratatui::Frame;
use ratatui::layout::Rect;

use crate::action::Action;
use crate::component::{Component, Reply};
use crate::context::{Handle, Paint};
use crate::panes::overview;
use crate::state::OverviewState;

impl Component for OverviewState {
    fn handle(&mut self, _action: Action, _ctx: &mut Handle<'_>) -> Reply {
        Reply::Ignored
    }

    fn render(&mut self, frame: &mut Frame, area: Rect, ctx: &Paint<'_>) {
        overview::render(frame, area, ctx);
    }
}
