//! Keys while an overlay that is not the prompt is open: the help overlay scrolls,
//! the route lookup popup closes on anything but a new question or a tab key.

use netlens_collectors::Store;

use super::{normal, prompt};
use crate::action::Action;
use crate::command::Command;
use crate::state::{Mode, Motion, UiState};

/// Lines a page moves in the help overlay.
const HELP_PAGE: usize = 10;

/// The help overlay: movement scrolls it (as far as the last frame showed there is to
/// see), a tab key switches tabs, `?` and Esc close it.
pub(super) fn help(ui: &mut UiState, store: &Store, action: Action) -> Option<Command> {
    if let Some(motion) = Motion::of(action, HELP_PAGE) {
        ui.help.move_by(motion);
        return None;
    }
    match action {
        Action::NextTab | Action::PrevTab | Action::SelectTab(_) => {
            ui.mode = Mode::Normal;
            return normal(ui, store, action);
        }
        Action::Help | Action::Close => ui.mode = Mode::Normal,
        _ => {}
    }
    None
}

/// The route lookup popup: `r` asks another question, a tab key switches tabs, and
/// anything else closes it (the input mapping turns stray keys into `Close`).
pub(super) fn lookup_popup(ui: &mut UiState, store: &Store, action: Action) -> Option<Command> {
    match action {
        Action::RouteLookup => prompt::open_lookup(ui),
        Action::NextTab | Action::PrevTab | Action::SelectTab(_) => {
            ui.mode = Mode::Normal;
            return normal(ui, store, action);
        }
        Action::Close | Action::PromptCancel => ui.mode = Mode::Normal,
        _ => {}
    }
    None
}
