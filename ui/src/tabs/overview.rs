//! The Overview as a component: the cursor over the open findings, and the details
//! view of one (Enter opens, Esc closes).

use ratatui::Frame;
use ratatui::layout::Rect;

use super::details_keys;
use crate::action::Action;
use crate::component::{Component, Reply};
use crate::context::{Handle, Paint};
use crate::panes::{findings, overview};
use crate::state::{FindingDetails, Motion, OverviewState, Scroll, StatusLevel};

impl Component for OverviewState {
    fn handle(&mut self, action: Action, ctx: &mut Handle<'_>) -> Reply {
        if let Some(reply) = details_keys(&mut self.details, action, |open| &mut open.scroll) {
            return reply;
        }
        let open = ctx.store.findings().open().len();
        if let Some(motion) = Motion::of(action, usize::from(findings::PANEL_ROWS)) {
            if open == 0 {
                return Reply::Ignored;
            }
            self.cursor = motion.apply(self.cursor.min(open - 1), open);
            return Reply::Handled;
        }
        match action {
            Action::Open => match findings::at_cursor(ctx.store, self.cursor) {
                Some(finding) => {
                    self.details = Some(FindingDetails { id: finding.id.clone(), scroll: Scroll::default() });
                }
                None => ctx.hint("no finding is open: nothing to show", StatusLevel::Info),
            },
            _ => return Reply::Ignored,
        }
        Reply::Handled
    }

    fn render(&mut self, frame: &mut Frame, area: Rect, ctx: &Paint<'_>) {
        self.cursor = overview::render(frame, area, self.cursor, ctx);
        if let Some(open) = self.details.as_mut() {
            findings::details(frame, area, open, ctx);
        }
    }
}
