//! The overlays that take keys, as components: the help overlay scrolls through the
//! keys in effect; the route lookup popup shows the kernel's answer until dismissed.
//! Keys they leave alone get the app's fallback (a tab key leaves the overlay for
//! that tab; `r` over the popup asks another question).

use ratatui::Frame;
use ratatui::layout::Rect;

use crate::action::Action;
use crate::component::{Component, Reply};
use crate::context::{Handle, Paint};
use crate::panes::{help, route_lookup};
use crate::state::{HelpOverlay, LookupPopup, Motion};

/// Lines a page moves in the help overlay.
const HELP_PAGE: usize = 10;

impl Component for HelpOverlay {
    fn handle(&mut self, action: Action, _ctx: &mut Handle<'_>) -> Reply {
        if let Some(motion) = Motion::of(action, HELP_PAGE) {
            // As far as the last frame showed there is to see.
            self.scroll.move_by(motion);
            return Reply::Handled;
        }
        match action {
            Action::Help | Action::Close => Reply::Dismiss,
            _ => Reply::Ignored,
        }
    }

    fn render(&mut self, frame: &mut Frame, area: Rect, ctx: &Paint<'_>) {
        help::render(frame, area, &mut self.scroll, self.tab, ctx);
    }
}

impl Component for LookupPopup {
    /// The input mapping turns stray keys into `Close` while the popup shows.
    fn handle(&mut self, action: Action, _ctx: &mut Handle<'_>) -> Reply {
        match action {
            Action::Close | Action::PromptCancel => Reply::Dismiss,
            _ => Reply::Ignored,
        }
    }

    fn render(&mut self, frame: &mut Frame, area: Rect, ctx: &Paint<'_>) {
        route_lookup::render(frame, area, self.request.as_ref(), ctx);
    }
}
