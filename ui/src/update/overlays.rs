//! Keys while an overlay that is not the prompt is open (the help overlay, the route
//! lookup popup): the overlay's component handles them, and what it leaves alone gets
//! the fallback here.

use netlens_collectors::Store;

use super::{normal, prompt};
use crate::action::Action;
use crate::command::Command;
use crate::component::{Component, Reply};
use crate::context::Handle;
use crate::state::{Mode, UiState};

/// A key while the help overlay or the route lookup popup is open.
pub(super) fn handle(ui: &mut UiState, store: &Store, action: Action) -> Option<Command> {
    let reply = {
        let UiState { mode, help, lookup, status, .. } = ui;
        let mut ctx = Handle { store, status };
        let overlay: &mut dyn Component = match mode {
            Mode::Help => help,
            Mode::RouteLookup => lookup,
            Mode::Normal | Mode::Prompt => return None,
        };
        overlay.handle(action, &mut ctx)
    };
    match reply {
        Reply::Run(command) => return Some(command),
        Reply::Handled => {}
        Reply::Dismiss => ui.mode = Mode::Normal,
        Reply::Ignored => match action {
            // A tab key leaves the overlay for that tab.
            Action::NextTab | Action::PrevTab | Action::SelectTab(_) => {
                ui.mode = Mode::Normal;
                return normal(ui, store, action);
            }
            // `r` over the popup asks another question.
            Action::RouteLookup if ui.mode == Mode::RouteLookup => prompt::open_lookup(ui),
            _ => {}
        },
    }
    None
}
