//! The component scheme: each tab (and each overlay that takes keys) owns its key
//! handling and its drawing, the way gitui's `Component` and ratatui's component
//! template split an app. `update` routes an action to the component with the focus
//! and falls back to app-wide behaviour only for what the component leaves alone;
//! `view` asks the same component to draw, and the drawing records the geometry it
//! used (rows shown, lines hidden) into the component's state, where the next key
//! reads it: no layout is computed twice.

use netlens_collectors::Store;
use ratatui::Frame;
use ratatui::layout::Rect;

use crate::action::Action;
use crate::command::Command;
use crate::context::{Handle, Paint};

/// What a component did with an action.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Reply {
    /// Not its business: the app-wide fallback decides (a hint, or nothing).
    Ignored,
    /// Done; nothing for the app to do.
    Handled,
    /// Done; the app performs this side effect.
    Run(Command),
    /// Done, and the overlay that handled it closes.
    Dismiss,
}

/// A part of the screen that handles its keys and draws itself.
pub(crate) trait Component {
    /// Apply `action`. Pure: reads the store, changes only the component's state (and
    /// the status line, through `ctx`), and asks for side effects by returning them.
    fn handle(&mut self, action: Action, ctx: &mut Handle<'_>) -> Reply;

    /// Draw into `area`, recording the geometry used (rows shown, scroll limits) so
    /// the next key acts on what is on screen.
    fn render(&mut self, frame: &mut Frame, area: Rect, ctx: &Paint<'_>);

    /// Catch up with the store before a key is handled (lists that stay on the same
    /// entry while newer ones arrive above it).
    fn settle(&mut self, _store: &Store) {}

    /// The filter `/` edits, as typed; `None` when no filterable table shows.
    fn filter(&self) -> Option<&str> {
        None
    }

    /// Apply a filter typed at `/`; `false` when the text does not parse (the prompt
    /// then stays open with its error shown and the table keeps its filter).
    fn set_filter(&mut self, _text: &str, _ctx: &mut Handle<'_>) -> bool {
        false
    }
}
