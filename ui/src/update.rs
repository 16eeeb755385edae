//! The pure update: an action changes the UI state and may ask the app for a side
//! effect. Nothing here does I/O; the store is only read (to clamp cursors to the rows
//! that exist and to keep selections on the same item when the order changes).
//!
//! The app-wide keys (tabs, pause, help, export, the prompts) are handled here; every
//! other key goes to the component with the focus (see `component.rs`), and only
//! what it leaves alone gets the app-wide fallback: a hint saying where the key works.

mod overlays;
mod prompt;

use netlens_collectors::Store;

use crate::action::Action;
pub use crate::command::Command;
use crate::component::Reply;
use crate::context::Handle;
use crate::state::{HelpOverlay, Mode, StatusLevel, Tab, UiState};

/// Apply `action` to `ui`, reading `store` (the frozen copy while paused).
pub fn update(ui: &mut UiState, store: &Store, action: Action) -> Option<Command> {
    // A hint from the previous key press has been read by now.
    if ui.status.as_ref().is_some_and(|status| status.hint) && !matches!(action, Action::Resize(..)) {
        ui.status = None;
    }
    settle(ui, store);
    match action {
        Action::Quit => return Some(Command::Quit),
        Action::Resize(width, height) => {
            ui.set_viewport(width, height);
            return None;
        }
        _ => {}
    }
    match ui.mode {
        Mode::Prompt => prompt::handle(ui, store, action),
        Mode::Help | Mode::RouteLookup => overlays::handle(ui, store, action),
        Mode::Normal => normal(ui, store, action),
    }
}

/// The lists that follow the store between key presses catch up with it, whichever
/// tab shows.
fn settle(ui: &mut UiState, store: &Store) {
    for tab in [Tab::Events, Tab::Dns] {
        ui.tabs.get_mut(tab).settle(store);
    }
}

/// Hand `action` to the current tab.
fn dispatch(ui: &mut UiState, store: &Store, action: Action) -> Reply {
    let UiState { tab, tabs, status, .. } = ui;
    let mut ctx = Handle { store, status };
    tabs.get_mut(*tab).handle(action, &mut ctx)
}

/// Apply a filter typed at `/` to the current tab; `false` when it does not parse.
pub(crate) fn set_filter(ui: &mut UiState, store: &Store, text: &str) -> bool {
    let UiState { tab, tabs, status, .. } = ui;
    let mut ctx = Handle { store, status };
    tabs.get_mut(*tab).set_filter(text, &mut ctx)
}

fn normal(ui: &mut UiState, store: &Store, action: Action) -> Option<Command> {
    match action {
        Action::Export => return Some(Command::Export),
        Action::NextTab => ui.tab = ui.tab.next(),
        Action::PrevTab => ui.tab = ui.tab.previous(),
        Action::SelectTab(tab) => ui.tab = tab,
        Action::TogglePause => ui.paused = !ui.paused,
        Action::Help => {
            ui.mode = Mode::Help;
            ui.help = HelpOverlay { tab: ui.tab, ..HelpOverlay::default() };
        }
        Action::Follow => {
            ui.tabs.events.toggle_follow();
            if ui.tab != Tab::Events {
                let state = if ui.tabs.events.follow { "on" } else { "off" };
                ui.hint(format!("events follow the newest: {state}"), StatusLevel::Info);
            }
        }
        Action::Filter => prompt::open_filter(ui),
        Action::RouteLookup => prompt::open_lookup(ui),
        Action::Trace => prompt::open_trace(ui, store),
        Action::AddTarget => prompt::open_add_target(ui),
        _ => {
            return match dispatch(ui, store, action) {
                // Removing a target is asked first: `y` removes, any other key keeps.
                Reply::Run(Command::RemoveTarget(target)) => {
                    prompt::confirm_remove(ui, target);
                    None
                }
                Reply::Run(command) => Some(command),
                Reply::Handled | Reply::Dismiss => None,
                Reply::Ignored => {
                    fallback(ui, store, action);
                    None
                }
            };
        }
    }
    None
}

/// What a key the current tab leaves alone does: mostly a hint saying where it works.
fn fallback(ui: &mut UiState, store: &Store, action: Action) {
    let on_paths = |ui: &UiState, what: &str| {
        let key = ui.keys_of(Tab::Paths.binding()).unwrap_or("3");
        format!("{what} works on the Paths tab ({key})")
    };
    match action {
        Action::ToggleGroup => {
            let key = ui.keys_of(Tab::Connections.binding()).unwrap_or("5");
            let text = format!("grouping by process works on the Connections tab ({key})");
            ui.hint(text, StatusLevel::Info);
        }
        Action::CycleSort | Action::ReverseSort => {
            ui.hint(
                "sorting works on the Interfaces, Paths, Connections and Routes tables",
                StatusLevel::Info,
            );
        }
        Action::Open => {
            ui.hint(
                "enter opens details on the Interfaces, Paths, Connections and Events tabs",
                StatusLevel::Info,
            );
        }
        Action::Close => {
            let tab = ui.tab;
            if ui.tabs.get(tab).filter().is_some_and(|text| !text.is_empty()) {
                set_filter(ui, store, "");
                ui.hint("filter cleared", StatusLevel::Info);
            }
        }
        Action::RemoveTarget => {
            let text = on_paths(ui, "removing");
            ui.hint(text, StatusLevel::Info);
        }
        Action::ProbeNow => {
            let text = on_paths(ui, "probing");
            ui.hint(text, StatusLevel::Info);
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests;
